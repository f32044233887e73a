-- Plain PostgreSQL: the same relations as ordinary views, computed on demand, so one
-- set of query functions reads them on either engine.
CREATE VIEW env_hourly AS
SELECT house_id, metric, date_trunc('hour', ts) AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
GROUP BY house_id, metric, date_trunc('hour', ts);

CREATE VIEW env_daily AS
SELECT house_id, metric, date_trunc('day', ts, 'Asia/Shanghai') AS bucket,
       avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS n
FROM readings
GROUP BY house_id, metric, date_trunc('day', ts, 'Asia/Shanghai');

CREATE VIEW weighing_daily AS
SELECT house_id, date_trunc('day', ts, 'Asia/Shanghai') AS bucket,
       count(*) AS n, avg(grams) AS mean_g, stddev_samp(grams) AS sd_g,
       min(grams) AS min_g, max(grams) AS max_g
FROM weighings
GROUP BY house_id, date_trunc('day', ts, 'Asia/Shanghai');
