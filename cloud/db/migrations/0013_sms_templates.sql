-- SMS through providers' approved templates (cloud/notify/templates.py): the template and its
-- short values travel with each message; the reply code lets a reply name its alert (Aliyun's
-- up-messages carry no message id: a reply is matched by phone, code and time).
ALTER TABLE notifications ADD COLUMN sms_template text;
ALTER TABLE notifications ADD COLUMN params jsonb;
ALTER TABLE notifications ADD COLUMN reply_code text;
CREATE INDEX notifications_reply ON notifications (right(recipient, 11), reply_code, sent_at)
    WHERE reply_code IS NOT NULL;
CREATE INDEX notifications_phone_sent ON notifications (right(recipient, 11), sent_at)
    WHERE sent_at IS NOT NULL;

-- Refusals a person must act on: a template, signature or credential refused (an operator),
-- or a number the provider will not send to (the recipient's record is marked below).
CREATE TABLE sms_refusals (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    provider    text NOT NULL,
    code        text,
    cause       text NOT NULL CHECK (cause IN ('template', 'config', 'recipient', 'other')),
    template    text,
    user_id     bigint REFERENCES users (id),
    phone       text NOT NULL,
    notification_key text NOT NULL,
    detail      text NOT NULL,
    scope       text NOT NULL DEFAULT ''  -- the alert's farm id, or region:<code>, as sms_budget
);
CREATE INDEX sms_refusals_at ON sms_refusals (at DESC);

-- A number the provider refused; cleared when the phone number is changed.
ALTER TABLE users ADD COLUMN phone_refused_at timestamptz;
ALTER TABLE users ADD COLUMN phone_refused_reason text;
CREATE FUNCTION users_phone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.phone IS DISTINCT FROM OLD.phone THEN
        NEW.phone_refused_at := NULL;
        NEW.phone_refused_reason := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_phone_refusal_cleared BEFORE UPDATE OF phone ON users
    FOR EACH ROW EXECUTE FUNCTION users_phone_changed();

-- Frame retention (cloud/frames_retention.py) asks whether a stored file is still referenced.
CREATE INDEX frames_path ON frames (path);
