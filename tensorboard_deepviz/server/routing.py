"""What every route shares: the request it reads, the reply it gives, and how answers become bytes.

A route is a name and a function ``RouteRequest -> Reply``. The function parses its parameters
(``server.params``), binds the run it reads (``RouteRequest.run``), names its answer (an
identity: a tuple that changes whenever the answer could) and returns how to compute it; it
never sees HTTP. ``server.plugin`` does the rest in one place: 4xx JSON errors, the response
cache keyed by identity, ETag and 304, Cache-Control (docs/ARCHITECTURE.md, "The server and its
routes"). The answer itself comes from an ``answer_*`` function of the route's module: parsed
parameters and a ``RunAccess`` in, a JSON-ready dict or PNG bytes out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Callable, Mapping, Optional

import numpy as np

from . import params
from .access import ExperimentAccess, RunAccess


@dataclasses.dataclass(frozen=True)
class Payload:
    """The body of an answer and its content type."""

    body: bytes
    content_type: str


def json_payload(value: Any) -> Payload:
    """Compact JSON; NaN and Inf are refused (``numbers`` turns them into strings first)."""
    return Payload(json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8"), "application/json")


def png_payload(body: bytes) -> Payload:
    return Payload(body, "image/png")


def numbers(array: Any) -> list:
    """A JSON-safe list of numbers: NaN and +/-Inf become the strings JavaScript's Number() reads."""
    values = np.asarray(array)
    if values.dtype.kind in "biu":
        return values.tolist()
    values = values.astype(np.float64)
    listed = values.tolist()
    if np.isfinite(values).all():
        return listed
    return _replace_nonfinite(listed)


def _replace_nonfinite(value: Any) -> Any:
    if isinstance(value, list):
        return [_replace_nonfinite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


@dataclasses.dataclass(frozen=True)
class Reply:
    """How to answer a request: ``compute`` makes the payload; ``identity`` names it.

    With an identity the answer gets an ETag (and a 304 when the client has it) and, when
    ``keep`` is true, is kept in the response cache under it: answers about a (run, tag, step)
    never change. Without one it is computed for every request (answers about a whole run,
    such as the index, change as the log grows). ``keep=False`` suits small answers asked for
    one item at a time (one image's prediction), which would crowd larger ones out of the cache.
    ``final=False`` marks an answer for an explicit ``step`` that may still change (one that falls
    back to an earlier checkpoint's record while the step's own may yet be written): it is
    revalidated by the browser instead of being kept as immutable.
    """

    compute: Callable[[], Payload]
    identity: Optional[tuple] = None
    keep: bool = True
    final: bool = True


class RouteRequest:
    """What a route reads from a request: its parameters and the log access bound to its experiment."""

    def __init__(
        self,
        args: Mapping[str, str],
        experiment: ExperimentAccess,
        memo: Callable[[tuple, Callable[[], Any]], Any],
    ) -> None:
        self.args = args
        self.experiment = experiment
        self._memo = memo

    def run(self) -> RunAccess:
        """The run named by the required parameter ``run``, bound for reading."""
        return self.experiment.for_run(params.text(self.args, "run"))

    def step(self) -> Optional[int]:
        """The checkpoint named by ``step``; None (the newest) when absent."""
        return params.optional_integer(self.args, "step", minimum=0)

    def layer(self) -> str:
        """The layer named by the required parameter ``layer``."""
        return params.text(self.args, "layer")

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """A JSON value computed once per ``key`` and kept with the responses (same memory budget)."""
        return self._memo(key, compute)


@dataclasses.dataclass(frozen=True)
class Route:
    """A route: answered at ``/data/plugin/deepviz/<name>`` by ``handler``."""

    name: str
    handler: Callable[[RouteRequest], Reply]
