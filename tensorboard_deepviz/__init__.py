"""tensorboard-deepviz: see what a convolutional network learns while it trains.

``DeepViz`` logs filter banks, probe-image activations, predictions, confusion matrices,
feature clusters and per-layer statistics into TensorBoard event files; the ``deepviz`` tab
in TensorBoard shows them on one timeline. ``tensorboard_deepviz.summary`` holds the
low-level summary functions for writers other than torch's.
"""

from .logger import DeepViz, DeepVizError

__all__ = ["DeepViz", "DeepVizError"]
__version__ = "0.1.0"
