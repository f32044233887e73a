-- The SMS budget's ledger: per person and notification, sent / held for the digest / suppressed, and why.
-- Its key is the notification's idempotency key plus the person, so a replayed cycle decides nothing twice.
CREATE TABLE sms_budget (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_key   text NOT NULL UNIQUE,
    recipient   text NOT NULL,
    user_id     bigint REFERENCES users (id),
    phone       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('farmer', 'technician', 'program_staff')),
    alert_uid   text NOT NULL,
    condition   text NOT NULL,
    kind        text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    action      text NOT NULL CHECK (action IN ('sent', 'held', 'suppressed')),
    reason      text NOT NULL,
    at          timestamptz NOT NULL,
    line        text NOT NULL,
    locale      text NOT NULL DEFAULT 'zh-CN',
    repeat      boolean NOT NULL DEFAULT false,
    digest      text,
    scope       text NOT NULL DEFAULT ''  -- the alert's farm id, or region:<code>: who may see the entry
);
CREATE INDEX sms_budget_condition ON sms_budget (recipient, condition, at);
CREATE INDEX sms_budget_at ON sms_budget (at DESC);
CREATE INDEX sms_budget_undigested ON sms_budget (at) WHERE action = 'held' AND digest IS NULL;
