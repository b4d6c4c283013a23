"""Feature visualization by regularized optimization: the engine the ``feature_vis`` collector runs in the background.

``settings`` (``FeatureVis``, the user's choices and their checks), ``parameterization`` (the
Fourier-scaled, colour-decorrelated image and the plain pixels), ``transforms`` (transformation
robustness), ``optimize`` (every selected unit of a layer rendered as one batch, with warm start)
and ``runner`` (the background thread, and when its records may be written). The collector that
uses them is ``writer.collectors.feature_vis``.
"""

from .settings import FeatureVis

__all__ = ["FeatureVis"]
