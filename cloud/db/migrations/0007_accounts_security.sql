-- Accounts and HTTP defences (issue 23): login throttling, server-side sessions, phone
-- verification codes and seen webhook signatures. Counters live here, not in process memory,
-- so they hold across API workers.

-- Failed logins per key ("user:<name>" or "addr:<ip>") inside a sliding window; a key over
-- its limit is locked until `locked_until`.
CREATE TABLE login_failures (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      integer NOT NULL,
    locked_until  timestamptz
);
CREATE INDEX login_failures_window ON login_failures (window_start);

-- One row per issued token (its jti). A token is honoured only while its row is live.
CREATE TABLE sessions (
    id             text PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;

-- A pending phone change: the new number takes effect only once its SMS code is confirmed.
CREATE TABLE phone_verifications (
    user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone      text NOT NULL,
    code_hash  text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Webhook deliveries already applied (digest of signature or body), kept for the replay window.
CREATE TABLE webhook_replays (
    provider   text NOT NULL,
    digest     text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (provider, digest)
);
CREATE INDEX webhook_replays_expiry ON webhook_replays (expires_at);
