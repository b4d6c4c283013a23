"""The TensorBoard plugin: loader, data-provider access, routes, rendering.

Never imports torch, scikit-learn or scipy at import time (docs/ARCHITECTURE.md); a test checks it.
"""
