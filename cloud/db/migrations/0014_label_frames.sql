-- A farm's labelled data set (issue 18): frames a technician corrected in the console, and
-- frames whose dead-bird record a farmer or technician confirmed or rejected. One row per
-- frame; `boxes` is [{"cls": "chicken"|"dead", "box": [x1, y1, x2, y2]}] in frame pixels.
-- `source` says who last shaped the boxes: 'alert' rows still carry the detector's boxes for
-- the birds nobody looked at; 'technician' rows were reviewed box by box.
CREATE TABLE label_frames (
    farm_id     text NOT NULL REFERENCES farms (id) ON DELETE CASCADE,
    gateway_id  text NOT NULL,
    camera_id   text NOT NULL,
    frame_seq   bigint NOT NULL,
    ts          timestamptz NOT NULL,
    path        text NOT NULL,
    boxes       jsonb NOT NULL,
    source      text NOT NULL CHECK (source IN ('technician', 'alert')),
    labelled_by bigint REFERENCES users (id) ON DELETE SET NULL,
    labelled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, frame_seq, ts)
);
CREATE INDEX label_frames_farm_camera ON label_frames (farm_id, gateway_id, camera_id, ts DESC);

-- The share of the house's birds a camera sees (0-1], set by a technician who knows the view;
-- unset, the detector-health check assumes the house's cameras split the floor evenly.
ALTER TABLE cameras ADD COLUMN view_share real CHECK (view_share > 0 AND view_share <= 1);

-- What the detection worker found per frame, for the detector-health check: chicken boxes and
-- the sum of their scores (null on frames judged before this migration; the check counts their
-- `detections` rows instead).
ALTER TABLE detection_frames ADD COLUMN chickens integer, ADD COLUMN chicken_score real;
