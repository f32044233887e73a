-- No-report zones: parts of a camera's view that are not floor (the burned-in OSD, a feeder, a
-- window). The detection worker drops every detection lying mostly inside one, for good; unlike
-- a quiet spot (a rejected report, 30 days, IoU with that one box), a zone is drawn by a
-- technician and stays until removed. Boxes are in the camera's frame pixels, as detections are.
CREATE TABLE camera_ignore_zones (
    id          bigserial PRIMARY KEY,
    gateway_id  text NOT NULL,
    camera_id   text NOT NULL,
    x1          real NOT NULL,
    y1          real NOT NULL,
    x2          real NOT NULL,
    y2          real NOT NULL,
    from_record bigint REFERENCES mortality_records (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint REFERENCES users (id),
    FOREIGN KEY (gateway_id, camera_id) REFERENCES cameras (gateway_id, id) ON DELETE CASCADE,
    CHECK (x1 >= 0 AND y1 >= 0 AND x2 > x1 AND y2 > y1)
);
CREATE INDEX camera_ignore_zones_camera ON camera_ignore_zones (gateway_id, camera_id);
