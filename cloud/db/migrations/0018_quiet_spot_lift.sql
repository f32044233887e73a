-- A rejected dead-bird report keeps its spot quiet on that camera for 30 days (the detection
-- worker's rejected_window_s). A technician can lift that quiet early from the console: a
-- carcass may later lie where a feeder was once taken for one, and a month of silence there is
-- a month of missed deaths. Lifted, the spot is judged like any other.
ALTER TABLE mortality_records
    ADD COLUMN quiet_lifted_at timestamptz,
    ADD COLUMN quiet_lifted_by bigint REFERENCES users (id);
