"""A farm's labelled frames: the data set technicians build in the console, from which a farm's
own model is adapted (`fuhuiyang models adapt`), and the detector-health check that asks for it.

The names below are the package's entry points for `models` (the export-labels command, and
the console's choice of frames to label for `prepare-real --choose spread`).
"""

from cloud.labels.boxes import CLASSES, LabelBox, LabelError
from cloud.labels.export import write_folder, write_unlabelled, zip_bytes
from cloud.labels.store import label_set, unlabelled_frames
from cloud.labels.suggest import spread, stored_signature

__all__ = ["CLASSES", "LabelBox", "LabelError", "label_set", "spread", "stored_signature", "unlabelled_frames",
           "write_folder", "write_unlabelled", "zip_bytes"]
