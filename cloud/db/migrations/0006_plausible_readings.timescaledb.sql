-- The climate aggregates over plausible readings only (see 0006_plausible_readings.sql).
-- A continuous aggregate's query cannot be altered: drop, recreate, re-add its policy, and
-- materialize the history it covered (its refresh policy only looks back 3 and 7 days, and a
-- refresh cannot run inside the migration's transaction).
-- after commit: CALL refresh_continuous_aggregate('env_hourly', NULL, NULL)
-- after commit: CALL refresh_continuous_aggregate('env_daily', NULL, NULL)
DROP MATERIALIZED VIEW env_hourly;
DROP MATERIALIZED VIEW env_daily;

CREATE MATERIALIZED VIEW env_hourly WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT house_id, metric, time_bucket(INTERVAL '1 hour', ts) AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
WHERE reading_plausible(metric, value)
GROUP BY house_id, metric, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW env_daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT house_id, metric, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai') AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
WHERE reading_plausible(metric, value)
GROUP BY house_id, metric, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai')
WITH NO DATA;

SELECT add_continuous_aggregate_policy('env_hourly',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
SELECT add_continuous_aggregate_policy('env_daily',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
