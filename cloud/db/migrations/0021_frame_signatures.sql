-- How each judged frame looks (cloud.frame_look: a 32x18 layout and its light, half precision),
-- kept by the detection worker, so that choosing which frames to label reads none from the
-- frame store. NULL for frames judged before this column existed: those are still read.
ALTER TABLE detection_frames ADD COLUMN signature bytea;
