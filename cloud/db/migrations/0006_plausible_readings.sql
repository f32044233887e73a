-- Readings outside the physically possible range are sensor faults, not data: the same ranges
-- as protocol.messages.METRIC_RANGES (tests/security/test_alert_isolation.py checks each edge).
-- Ingest quarantines them; rows stored before that check, or written directly, must still
-- neither steer an alert nor overflow an aggregate (two 1e308 readings overflow a double sum).
-- Another metric is bounded only so far that no sum of it can overflow.
CREATE FUNCTION reading_plausible(metric text, value double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE metric
        WHEN 'temperature_c' THEN value BETWEEN -50 AND 80
        WHEN 'humidity_pct' THEN value BETWEEN 0 AND 100
        WHEN 'nh3_ppm' THEN value BETWEEN 0 AND 1000
        WHEN 'co2_ppm' THEN value BETWEEN 0 AND 50000
        WHEN 'light_lux' THEN value BETWEEN 0 AND 200000
        WHEN 'water_l' THEN value BETWEEN 0 AND 100000
        ELSE value BETWEEN -1e12 AND 1e12
    END
$$;
