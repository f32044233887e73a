-- The gateway's own rule events become alerts (cloud/alerts/gateway_events.py): each stored
-- `alert` event is judged once by the alert worker; its wire identity is recorded here in the
-- same unit of work as the alerts it changed.
CREATE TABLE gateway_alarm_judged (
    gateway_id text NOT NULL,
    seq        bigint NOT NULL,
    judged_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, seq)
);
-- The worker's scan of recent alert events.
CREATE INDEX gateway_events_alerts ON gateway_events (ts) WHERE kind = 'alert';
