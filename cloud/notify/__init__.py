"""Notification delivery: SMS segments and cost, provider adapters, outbox, inbound webhooks."""
