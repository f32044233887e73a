-- Farmers sign in with a one-time code texted to their phone. One row per phone number asked
-- for, known or not, so that the resend limit answers the same for every number (no account
-- enumeration); user_id is NULL where no active farmer has the number and no SMS was sent.
CREATE TABLE login_codes (
    phone       text PRIMARY KEY,          -- digits only
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE,
    code_hash   text,
    attempts    integer NOT NULL DEFAULT 0,
    sent_today  integer NOT NULL DEFAULT 0,
    day         date NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
