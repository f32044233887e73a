-- A farm's own book (issue 24): days imported from it carry what the book has beyond the
-- app's entry form (birds alive, mean weight, uniformity), so the rules see the same history.
ALTER TABLE daily_records
    ADD COLUMN birds          integer CHECK (birds >= 0),
    ADD COLUMN mean_weight_g  real CHECK (mean_weight_g > 0),
    ADD COLUMN uniformity_pct real CHECK (uniformity_pct >= 0 AND uniformity_pct <= 100),
    ADD COLUMN source         text NOT NULL DEFAULT 'app' CHECK (source IN ('app', 'import'));
