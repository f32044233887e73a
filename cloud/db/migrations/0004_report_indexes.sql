-- Indexes the regional reports and the web pages lean on (cloud/reports/queries.py).
-- Latest weight summary per house in a recent window.
CREATE INDEX weighing_summaries_house_day ON weighing_summaries (house_id, day DESC);
-- Alerts raised in a report period; SMS per alert.
CREATE INDEX alerts_raised_at ON alerts (raised_at);
CREATE INDEX notifications_alert ON notifications (alert_id);
-- The farmer's page: this week's records of one flock.
CREATE INDEX mortality_farm_pending ON mortality_records (farm_id, ts DESC) WHERE confirmed IS NULL;
