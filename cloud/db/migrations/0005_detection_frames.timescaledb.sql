SELECT create_hypertable('detection_frames', 'ts', chunk_time_interval => INTERVAL '7 days');
SELECT add_retention_policy('detection_frames', INTERVAL '1 year');
