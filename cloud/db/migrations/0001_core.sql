-- Core relational model and event tables (DESIGN.md §4). Engine-neutral SQL:
-- TimescaleDB specifics live in *.timescaledb.sql companions.

CREATE TABLE regions (
    id        text PRIMARY KEY,
    parent_id text REFERENCES regions (id),
    level     text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    name      text NOT NULL,
    name_en   text
);
CREATE INDEX regions_parent ON regions (parent_id);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('farmer', 'technician', 'program_staff', 'admin')),
    display_name  text,
    phone         text,
    locale        text NOT NULL DEFAULT 'zh-CN',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE farms (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    region_id     text NOT NULL REFERENCES regions (id),
    owner_user_id bigint REFERENCES users (id),
    kind          text NOT NULL DEFAULT 'smallhouse' CHECK (kind IN ('backyard', 'smallhouse', 'commercial')),
    lat           double precision,
    lon           double precision,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX farms_region ON farms (region_id);

-- A user sees farms directly (farmer) or everything under a region (technician, program staff).
CREATE TABLE user_scopes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    farm_id   text REFERENCES farms (id) ON DELETE CASCADE,
    region_id text REFERENCES regions (id) ON DELETE CASCADE,
    CHECK ((farm_id IS NULL) <> (region_id IS NULL))
);
CREATE UNIQUE INDEX user_scopes_unique ON user_scopes (user_id, coalesce(farm_id, ''), coalesce(region_id, ''));

CREATE TABLE houses (
    id       text PRIMARY KEY,
    farm_id  text NOT NULL REFERENCES farms (id),
    name     text NOT NULL,
    capacity integer CHECK (capacity > 0)
);
CREATE INDEX houses_farm ON houses (farm_id);

CREATE TABLE flocks (
    id           text PRIMARY KEY,
    house_id     text NOT NULL REFERENCES houses (id),
    breed        text NOT NULL,
    placed_on    date NOT NULL,
    birds_placed integer NOT NULL CHECK (birds_placed > 0),
    birds_now    integer CHECK (birds_now >= 0),
    ended_on     date
);
CREATE INDEX flocks_house ON flocks (house_id);

CREATE TABLE gateways (
    id              text PRIMARY KEY,
    farm_id         text NOT NULL REFERENCES farms (id),
    password_hash   text,
    revoked_at      timestamptz,
    software        text,
    status          text NOT NULL DEFAULT 'never_seen'
                    CHECK (status IN ('never_seen', 'online', 'offline')),
    status_at       timestamptz,
    last_seen       timestamptz,
    desired_version integer NOT NULL DEFAULT 0,
    desired_config  jsonb,
    applied_version integer,
    applied_status  text,
    applied_error   text,
    applied_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateways_farm ON gateways (farm_id);

CREATE TABLE gateway_configs (
    gateway_id text NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
    version    integer NOT NULL,
    config     jsonb NOT NULL,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, version)
);

CREATE TABLE sensors (
    gateway_id text NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
    id         text NOT NULL,
    house_id   text,
    metric     text,
    state      text NOT NULL DEFAULT 'ok',
    faults     text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz,
    PRIMARY KEY (gateway_id, id)
);

CREATE TABLE cameras (
    gateway_id text NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
    id         text NOT NULL,
    house_id   text,
    state      text NOT NULL DEFAULT 'ok',
    updated_at timestamptz,
    PRIMARY KEY (gateway_id, id)
);

-- Event tables: identity is (gateway_id, seq[, idx]) plus the time column, which a
-- hypertable's unique indexes must contain. No foreign keys: ingest never fails on
-- an unknown house; reports join what they know.
CREATE TABLE readings (
    ts         timestamptz NOT NULL,
    gateway_id text NOT NULL,
    seq        bigint NOT NULL,
    idx        integer NOT NULL,
    house_id   text,
    sensor_id  text NOT NULL,
    metric     text NOT NULL,
    value      double precision NOT NULL,
    quality    text NOT NULL DEFAULT 'ok',
    UNIQUE (gateway_id, seq, idx, ts)
);
CREATE INDEX readings_house_metric_ts ON readings (house_id, metric, ts DESC);

CREATE TABLE weighings (
    ts         timestamptz NOT NULL,
    gateway_id text NOT NULL,
    seq        bigint NOT NULL,
    idx        integer NOT NULL,
    house_id   text,
    scale_id   text NOT NULL,
    grams      real NOT NULL,
    dwell_s    real,
    UNIQUE (gateway_id, seq, idx, ts)
);
CREATE INDEX weighings_house_ts ON weighings (house_id, ts DESC);

-- The gateway's own daily summary (it saw every sample); the latest message wins.
CREATE TABLE weighing_summaries (
    gateway_id     text NOT NULL,
    scale_id       text NOT NULL,
    day            date NOT NULL,
    house_id       text,
    count          integer NOT NULL,
    mean_g         real NOT NULL,
    median_g       real NOT NULL,
    sd_g           real NOT NULL,
    cv_pct         real NOT NULL,
    uniformity_pct real NOT NULL,
    expected_g     real,
    seq            bigint NOT NULL,
    PRIMARY KEY (gateway_id, scale_id, day)
);

CREATE TABLE frames (
    ts           timestamptz NOT NULL,
    gateway_id   text NOT NULL,
    seq          bigint NOT NULL,
    camera_id    text NOT NULL,
    house_id     text,
    sha256       text NOT NULL,
    path         text NOT NULL,
    bytes        integer NOT NULL,
    width        integer NOT NULL,
    height       integer NOT NULL,
    trigger      text NOT NULL,
    processed_at timestamptz,
    UNIQUE (gateway_id, seq, ts)
);
CREATE INDEX frames_camera_ts ON frames (gateway_id, camera_id, ts DESC);

CREATE TABLE detections (
    ts         timestamptz NOT NULL,
    gateway_id text NOT NULL,
    frame_seq  bigint NOT NULL,
    camera_id  text NOT NULL,
    house_id   text,
    class      text NOT NULL,
    score      real NOT NULL,
    x1 real NOT NULL, y1 real NOT NULL, x2 real NOT NULL, y2 real NOT NULL,
    track_id   bigint,
    model      text NOT NULL
);
CREATE INDEX detections_camera_ts ON detections (gateway_id, camera_id, ts DESC);

CREATE TABLE health (
    ts                  timestamptz NOT NULL,
    gateway_id          text NOT NULL,
    seq                 bigint NOT NULL,
    uptime_s            real,
    cpu_pct             real,
    mem_mb              real,
    disk_free_mb        real,
    outbox_depth        integer,
    outbox_oldest_age_s real,
    payload             jsonb NOT NULL,
    UNIQUE (gateway_id, seq, ts)
);
CREATE INDEX health_gateway_ts ON health (gateway_id, ts DESC);

-- Status changes, edge-side alerts and config reports, kept as they arrived.
CREATE TABLE gateway_events (
    ts         timestamptz NOT NULL,
    gateway_id text NOT NULL,
    seq        bigint NOT NULL,
    kind       text NOT NULL,
    payload    jsonb NOT NULL,
    UNIQUE (gateway_id, seq, kind, ts)
);

-- Farmer-entered daily records (the farmer's own book).
CREATE TABLE daily_records (
    flock_id   text NOT NULL REFERENCES flocks (id),
    day        date NOT NULL,
    deaths     integer CHECK (deaths >= 0),
    culls      integer CHECK (culls >= 0),
    feed_kg    real CHECK (feed_kg >= 0),
    water_l    real CHECK (water_l >= 0),
    eggs       integer CHECK (eggs >= 0),
    entered_by bigint REFERENCES users (id),
    entered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flock_id, day)
);

CREATE TABLE mortality_records (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flock_id   text REFERENCES flocks (id),
    house_id   text NOT NULL,
    farm_id    text NOT NULL,
    ts         timestamptz NOT NULL,
    count      integer NOT NULL CHECK (count > 0),
    source     text NOT NULL CHECK (source IN ('farmer', 'detector')),
    evidence   jsonb,
    confirmed  boolean
);
CREATE INDEX mortality_house_ts ON mortality_records (house_id, ts);

CREATE TABLE alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    dedup_key       text NOT NULL,
    farm_id         text,
    house_id        text,
    region_id       text,
    gateway_id      text,
    event_start     timestamptz NOT NULL,
    event_end       timestamptz,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES users (id),
    resolved_at     timestamptz,
    escalation      integer NOT NULL DEFAULT 0,
    title           text,
    advice          text,
    evidence        jsonb NOT NULL DEFAULT '{}'
);
-- One live alert per (farm, house, type): the dedup rule lives in the database.
CREATE UNIQUE INDEX alerts_one_live ON alerts (dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_farm_start ON alerts (farm_id, event_start DESC);

CREATE TABLE notifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id            bigint REFERENCES alerts (id),
    channel             text NOT NULL CHECK (channel IN ('sms', 'app')),
    recipient           text NOT NULL,
    user_id             bigint REFERENCES users (id),
    locale              text NOT NULL DEFAULT 'zh-CN',
    template            text NOT NULL,
    body                text NOT NULL,
    segments            integer NOT NULL DEFAULT 1,
    cost                numeric(10, 4) NOT NULL DEFAULT 0,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'suppressed')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key     text NOT NULL UNIQUE,
    provider            text,
    provider_message_id text,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    delivered_at        timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state IN ('pending', 'sending');

CREATE TABLE quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    gateway_id  text,
    reason      text NOT NULL,
    detail      text NOT NULL,
    size        integer NOT NULL,
    payload     bytea
);

CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    user_id   bigint REFERENCES users (id),
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id text,
    detail    jsonb NOT NULL DEFAULT '{}'
);
