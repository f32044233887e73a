-- The climate aggregates over plausible readings only (see 0006_plausible_readings.sql).
DROP VIEW env_hourly;
DROP VIEW env_daily;

CREATE VIEW env_hourly AS
SELECT house_id, metric, date_trunc('hour', ts) AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
WHERE reading_plausible(metric, value)
GROUP BY house_id, metric, date_trunc('hour', ts);

CREATE VIEW env_daily AS
SELECT house_id, metric, date_trunc('day', ts, 'Asia/Shanghai') AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
WHERE reading_plausible(metric, value)
GROUP BY house_id, metric, date_trunc('day', ts, 'Asia/Shanghai');
