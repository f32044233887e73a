-- A technician's request, from the console, to adapt a camera's own model from its labelled
-- frames. `fuhuiyang models adapt-worker` takes them oldest first, one at a time and never the
-- same one twice (FOR UPDATE SKIP LOCKED), and registers the model scoped to the camera.
CREATE TABLE adapt_requests (
    id           bigserial PRIMARY KEY,
    farm_id      text NOT NULL REFERENCES farms (id) ON DELETE CASCADE,
    gateway_id   text NOT NULL,
    camera_id    text NOT NULL,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    requested_by bigint REFERENCES users (id) ON DELETE SET NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    model        text,
    result       jsonb,
    error        text,
    FOREIGN KEY (gateway_id, camera_id) REFERENCES cameras (gateway_id, id) ON DELETE CASCADE
);
-- one open request a camera: asking again while one waits or runs adds nothing
CREATE UNIQUE INDEX adapt_requests_open ON adapt_requests (gateway_id, camera_id)
    WHERE state IN ('queued', 'running');
CREATE INDEX adapt_requests_camera ON adapt_requests (gateway_id, camera_id, requested_at DESC);
