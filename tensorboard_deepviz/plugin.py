"""The ``tensorboard_plugins`` entry point (``tensorboard_deepviz.plugin:DeepVizLoader``).

Kept at this path so installed entry points and imports keep working; the plugin lives in ``server``.
"""

from .server.plugin import DeepVizLoader, DeepVizPlugin

__all__ = ["DeepVizLoader", "DeepVizPlugin"]
