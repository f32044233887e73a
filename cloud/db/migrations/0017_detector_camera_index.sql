-- The detection worker reads a camera's detector reports on every frame (the last day's, and
-- the rejected ones of the last 30 days, so a rejected spot stays quiet), and detector health
-- counts its decided ones: by the gateway and camera in the evidence, not by house.
CREATE INDEX mortality_detector_camera ON mortality_records
    ((evidence->>'gateway_id'), (evidence->>'camera'), ts) WHERE source = 'detector';
