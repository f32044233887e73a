-- Over-the-air agent releases and their staged rollouts (docs/edge.md, OTA; docs/operations.md).

-- A signed bundle: the manifest the programme signed and the signature; the bytes live in the
-- release store (a directory, content-addressed by sha256), `path` relative to it.
CREATE TABLE releases (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version    text NOT NULL UNIQUE,
    name       text NOT NULL,
    sha256     text NOT NULL,
    size       bigint NOT NULL CHECK (size > 0),
    manifest   jsonb NOT NULL,
    signature  text NOT NULL,
    path       text NOT NULL,
    notes      text,
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One release rolled out to a set of gateways in stages; `stage` is the last stage opened.
CREATE TABLE rollouts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    release_id          bigint NOT NULL REFERENCES releases (id),
    previous_release_id bigint REFERENCES releases (id),  -- what a rollback returns to; NULL: the installed agent
    state               text NOT NULL DEFAULT 'running'
                        CHECK (state IN ('running', 'halted', 'completed', 'rolled_back')),
    stage               integer NOT NULL DEFAULT 1,
    halt_share          real NOT NULL DEFAULT 0.2 CHECK (halt_share >= 0 AND halt_share <= 1),
    advance_share       real NOT NULL DEFAULT 0.9 CHECK (advance_share > 0 AND advance_share <= 1),
    soak_s              integer NOT NULL DEFAULT 0 CHECK (soak_s >= 0),
    stage_opened_at     timestamptz NOT NULL DEFAULT now(),
    reason              text,
    region_id           text REFERENCES regions (id),  -- the scope it was started in; NULL: all (admin)
    created_by          bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rollout_stages (
    rollout_id bigint NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    stage      integer NOT NULL CHECK (stage >= 1),
    name       text NOT NULL,
    PRIMARY KEY (rollout_id, stage)
);

-- Each gateway of a rollout, in the first stage that selects it, with its latest report.
CREATE TABLE rollout_targets (
    rollout_id    bigint NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    gateway_id    text NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
    stage         integer NOT NULL,
    state         text NOT NULL DEFAULT 'waiting',  -- waiting | pending | held | ReleaseState.state
    version       text,  -- the version the latest report is about
    running       text,
    reason        text,
    published_at  timestamptz,
    reported_at   timestamptz,
    reported_seq  bigint,
    PRIMARY KEY (rollout_id, gateway_id)
);
CREATE INDEX rollout_targets_gateway ON rollout_targets (gateway_id);

-- What a rollback returns this gateway to: the release it last became healthy on (NULL: the
-- installed agent).
ALTER TABLE rollout_targets ADD COLUMN previous_release_id bigint REFERENCES releases (id);
