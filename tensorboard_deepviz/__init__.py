"""tensorboard-deepviz: see what a convolutional network learns while it trains.

``DeepViz`` logs filter banks, probe-image activations, predictions, confusion matrices,
feature clusters and per-layer statistics into TensorBoard event files; the ``deepviz`` tab
in TensorBoard shows them on one timeline. ``tensorboard_deepviz.summary`` holds the
low-level summary functions for writers other than torch's.

``DeepViz`` and ``FeatureVis`` (its feature visualization settings) are imported lazily so
that TensorBoard, which loads this package to serve the plugin, does not import torch.
"""

from typing import Any

__all__ = ["DeepViz", "DeepVizError", "FeatureVis"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from .writer import deepviz

        return getattr(deepviz, name)
    raise AttributeError(f"module 'tensorboard_deepviz' has no attribute {name!r}")
