-- Continuous aggregates that reports read. Real-time (materialized_only = false) so the
-- newest bucket is always included; days are farm-local (Asia/Shanghai).
CREATE MATERIALIZED VIEW env_hourly WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT house_id, metric, time_bucket(INTERVAL '1 hour', ts) AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
GROUP BY house_id, metric, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW env_daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT house_id, metric, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai') AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
GROUP BY house_id, metric, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai')
WITH NO DATA;

CREATE MATERIALIZED VIEW weighing_daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT house_id, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai') AS bucket,
       count(*) AS n, avg(grams) AS mean_g, stddev_samp(grams) AS sd_g,
       min(grams) AS min_g, max(grams) AS max_g
FROM weighings
GROUP BY house_id, time_bucket(INTERVAL '1 day', ts, 'Asia/Shanghai')
WITH NO DATA;

SELECT add_continuous_aggregate_policy('env_hourly',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
SELECT add_continuous_aggregate_policy('env_daily',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
SELECT add_continuous_aggregate_policy('weighing_daily',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
