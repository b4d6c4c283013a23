"""Computations on logged numbers (numpy, scikit-learn, scipy), used by the writer's worker and the server.

Never imports torch or TensorBoard's server code (docs/ARCHITECTURE.md).
"""
