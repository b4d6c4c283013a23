"""The record kinds of a checkpoint, one collector each (the protocol is in ``base``).

``COLLECTORS`` lists the collector classes ``DeepViz`` builds, in the order their records are
written at each checkpoint. Each is constructed with the logger's ``Setup``. A new record kind
is a new module here and one entry in this list; the eval pass, the worker and the facade are
unchanged (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Any, Callable

from .activations import ActivationsCollector
from .attribution import AttributionCollector
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, host_copy, record_copies, to_host
from .clusters import ClustersCollector
from .feature_vis import FeatureVisCollector
from .predictions import PredictionsCollector
from .similarity import SimilarityCollector
from .units import UnitsCollector
from .weights import WeightsCollector

#: Builds the collectors of a DeepViz logger, in the order their records are written.
COLLECTORS: list[Callable[[Setup], Collector[Any]]] = [
    WeightsCollector,
    ActivationsCollector,
    PredictionsCollector,
    ClustersCollector,
    UnitsCollector,
    AttributionCollector,
    SimilarityCollector,
    FeatureVisCollector,
]

__all__ = [
    "COLLECTORS",
    "ActivationsCollector",
    "AttributionCollector",
    "Batch",
    "CheckpointContext",
    "CheckpointSink",
    "ClustersCollector",
    "Collector",
    "FeatureVisCollector",
    "PredictionsCollector",
    "Setup",
    "SimilarityCollector",
    "Tap",
    "UnitsCollector",
    "WeightsCollector",
    "host_copy",
    "record_copies",
    "to_host",
]
