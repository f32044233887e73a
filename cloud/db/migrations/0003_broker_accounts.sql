-- Broker logins that are not gateways: ingest workers, detection workers, the API's
-- config publisher. Gateways keep their credentials on the gateways row.
CREATE TABLE broker_accounts (
    username      text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('ingest', 'publisher', 'reader')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Who issued and rotated a gateway's credentials (the audit trail lives in audit_log).
ALTER TABLE gateways ADD COLUMN credentials_rotated_at timestamptz;
