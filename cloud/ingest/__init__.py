"""MQTT ingest: shared-subscription consumers that batch, write idempotently and ack after commit."""
