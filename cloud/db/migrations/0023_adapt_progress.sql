-- How far a running adaptation has got, for the console: the budget the worker took it with
-- (its `--minutes`, so the page can say when it will be ready) and the last stage it reported.
ALTER TABLE adapt_requests
    ADD COLUMN budget_minutes real,
    ADD COLUMN progress       jsonb,
    ADD COLUMN progress_at    timestamptz;
