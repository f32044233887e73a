-- Hypertables, compression and retention for the event tables.
SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '7 days');
SELECT create_hypertable('weighings', 'ts', chunk_time_interval => INTERVAL '30 days');
SELECT create_hypertable('frames', 'ts', chunk_time_interval => INTERVAL '7 days');
SELECT create_hypertable('detections', 'ts', chunk_time_interval => INTERVAL '7 days');
SELECT create_hypertable('health', 'ts', chunk_time_interval => INTERVAL '7 days');

-- Unique indexes must be covered by segmentby/orderby columns on compressed chunks.
ALTER TABLE readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'gateway_id',
    timescaledb.compress_orderby = 'ts, seq, idx');
ALTER TABLE weighings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'gateway_id',
    timescaledb.compress_orderby = 'ts, seq, idx');
ALTER TABLE health SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'gateway_id',
    timescaledb.compress_orderby = 'ts, seq');

SELECT add_compression_policy('readings', INTERVAL '7 days');
SELECT add_compression_policy('weighings', INTERVAL '7 days');
SELECT add_compression_policy('health', INTERVAL '7 days');

SELECT add_retention_policy('readings', INTERVAL '3 years');
SELECT add_retention_policy('weighings', INTERVAL '3 years');
SELECT add_retention_policy('frames', INTERVAL '180 days');
SELECT add_retention_policy('detections', INTERVAL '1 year');
SELECT add_retention_policy('health', INTERVAL '90 days');
