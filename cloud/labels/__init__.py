"""A farm's labelled frames: the data set technicians build in the console, from which a farm's
own model is adapted (`fuhuiyang models adapt`), and the detector-health check that asks for it.

The names below are the package's entry points for `models` (the export-labels command, the
adapt worker that takes the console's requests, and the console's choice of frames to label for
`prepare-real --choose spread`).
"""

from cloud.labels.boxes import CLASSES, LabelBox, LabelError
from cloud.labels.export import write_folder, write_unlabelled, zip_bytes
from cloud.labels.requests import abandon_stale as abandon_stale_requests
from cloud.labels.requests import claim as claim_request
from cloud.labels.requests import report as report_request
from cloud.labels.requests import settle as settle_request
from cloud.labels.store import label_set, unlabelled_frames
from cloud.labels.suggest import spread, stored_signature

__all__ = ["CLASSES", "LabelBox", "LabelError", "abandon_stale_requests", "claim_request", "label_set",
           "report_request", "settle_request", "spread", "stored_signature", "unlabelled_frames", "write_folder",
           "write_unlabelled", "zip_bytes"]
