-- Burned-in text (the NVR's clock and camera name) found on a camera's stored frames
-- (cloud.detect.osd), kept so the console can flag every camera whose text no no-report zone
-- covers without reading frames on each visit. Found daily by `fuhuiyang cloud find-text` and
-- whenever a camera's labelling page finds the stored result stale. Boxes are frame pixels of
-- the size searched ([[x1, y1, x2, y2], ...]; empty: searched, no text).
CREATE TABLE camera_text_zones (
    gateway_id  text NOT NULL,
    camera_id   text NOT NULL,
    boxes       jsonb NOT NULL,
    frames      integer NOT NULL,  -- frames read; under cloud.detect.osd's minimum, no box is found
    found_at    timestamptz NOT NULL,
    PRIMARY KEY (gateway_id, camera_id),
    FOREIGN KEY (gateway_id, camera_id) REFERENCES cameras (gateway_id, id) ON DELETE CASCADE
);
