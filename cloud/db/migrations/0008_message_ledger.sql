-- End-to-end delivery receipts (docs/protocol.md, "Receipts"): every message ingest keeps
-- (stored or quarantined) is recorded here by its wire identity, in the same transaction as
-- its rows. A conflicting insert is a duplicate: deduplication is by (gateway_id, seq) exactly.
CREATE TABLE message_ledger (
    gateway_id  text NOT NULL,
    seq         bigint NOT NULL,
    kind        text NOT NULL,
    quarantined boolean NOT NULL DEFAULT false,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, seq)
);

-- Per gateway: every seq <= watermark is settled (in the ledger, pruned from it, or below the
-- lowest seq the gateway reports still holding). Ledger rows at or below it are deleted.
CREATE TABLE gateway_receipts (
    gateway_id  text PRIMARY KEY,
    watermark   bigint NOT NULL DEFAULT -1,
    held_from   bigint,
    backlog     integer,
    unconfirmed integer,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A quarantined message keeps its wire identity, so it can be receipted and replayed.
ALTER TABLE quarantine ADD COLUMN seq bigint;
