-- One row per frame the detector judged. The unique key makes a redelivered frame a no-op,
-- and the rows let any worker rebuild a camera's tracks (stateless, horizontally scaled).
CREATE TABLE detection_frames (
    ts         timestamptz NOT NULL,
    gateway_id text NOT NULL,
    camera_id  text NOT NULL,
    frame_seq  bigint NOT NULL,
    house_id   text,
    lit        boolean NOT NULL,
    detections integer NOT NULL,
    model      text NOT NULL,
    UNIQUE (gateway_id, frame_seq, ts)
);
CREATE INDEX detection_frames_camera_ts ON detection_frames (gateway_id, camera_id, ts DESC);
CREATE INDEX mortality_detector_house ON mortality_records (house_id, ts) WHERE source = 'detector';
