"""The plugin's routes, one module per feature of the dashboard (docs/ARCHITECTURE.md, "The server and its routes").

Each module has ``answer_*`` functions (parsed parameters and a ``RunAccess`` in, a JSON-ready dict
or PNG bytes out: testable without HTTP), ``*_route`` functions that parse a request and name its
answer (``routing.Reply``), and a ``ROUTES`` table. ``server.plugin`` serves every route in
``ROUTES`` below; a new route is a new module and its line in ``MODULES``.
"""

from __future__ import annotations

from ..routing import Route
from . import (
    activations,
    attribution,
    clusters,
    compare,
    comparison,
    confusion,
    corpus,
    dynamics,
    feature_vis,
    filters,
    findings,
    graph,
    index,
    predictions,
    similarity,
    units,
)

MODULES = (
    index,
    graph,
    corpus,
    filters,
    activations,
    predictions,
    confusion,
    clusters,
    compare,
    dynamics,
    units,
    attribution,
    findings,
    comparison,
    similarity,
    feature_vis,
)

ROUTES: tuple[Route, ...] = tuple(route for module in MODULES for route in module.ROUTES)
