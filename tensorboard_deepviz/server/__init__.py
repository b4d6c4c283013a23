"""The TensorBoard plugin: loader, data-provider access, run index, one module per route, rendering.

``plugin`` serves ``routes`` (one module per feature, each with pure ``answer_*`` functions) and
holds the plumbing they share; ``access`` reads records through TensorBoard's data provider;
``index`` knows which checkpoints are complete; ``render`` draws PNG sprites. Never imports
torch, scikit-learn or scipy at import time (docs/ARCHITECTURE.md, "Layers and their import
rules"); a test checks it.
"""
