"""The writer: ``DeepViz`` in the training loop, its background worker and capture hooks.

The only layer that imports torch (docs/ARCHITECTURE.md).
"""
