"""The findings route: what is wrong with a run, where and since when, and the link that shows it.

The rules are ``analysis.findings``; this module gathers what they read from the run's records
(layer statistics in one read per layer, and only the headers of the per-checkpoint records:
confusion counts and dead-unit counts are in them, the loss and the training inputs' statistics
when logged) and turns each finding's view and selection into a dashboard link (the URL hash
the page reads). Loss spikes, which are not one of the findings' kinds, are answered beside the
findings, each with its lead-lag ranking of the layers that moved first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional
from urllib.parse import urlencode

import numpy as np

from ...analysis import findings as rules
from ...contract import metadata, records
from ..access import RunAccess, TagInfo
from ..errors import RequestError
from ..index import run_layer_order, summarize_run
from ..routing import Reply, Route, RouteRequest, json_payload

# How a finding's selection is written in the dashboard's URL hash (frontend/src/core/state.ts).
_HASH_NAMES = {"layer": "layer", "step": "step", "stat": "stat", "source": "source", "usort": "usort", "cell": "cell"}


def gather_evidence(run: RunAccess) -> rules.RunEvidence:
    """What the rules read, from the run's records."""
    tags = run.tags()
    layers = run_layer_order(run)
    statistics_tags = run.layers_with(metadata.KIND_STATISTICS)
    statistics: dict[str, rules.LayerStatistics] = {}
    if statistics_tags:
        for layer, series in run.statistics(list(statistics_tags.values())).items():
            if not series:
                continue
            rows = np.stack([row for _, row in series]).reshape(len(series), len(metadata.STATISTIC_SOURCES), -1)
            statistics[layer] = rules.LayerStatistics(np.array([step for step, _ in series], dtype=np.int64), rows)
    complete = set(summarize_run(run)["checkpoints"])
    confusion = _confusion_series(run, tags, complete)
    checkpoints = sorted(complete)
    graph = run.latest(metadata.KIND_GRAPH)
    eval_inputs = graph.fields.get("eval_inputs") if graph is not None else None
    corpus = run.latest(metadata.KIND_CORPUS, header_only=True)
    class_names = corpus.fields.get("class_names") if corpus is not None else None
    return rules.RunEvidence(
        layers=layers,
        statistics=statistics,
        checkpoints=checkpoints,
        confusion=confusion,
        dead_units=_dead_unit_shares(run, complete),
        eval_inputs=eval_inputs if isinstance(eval_inputs, dict) else None,
        class_names=[str(name) for name in class_names] if isinstance(class_names, list) else [],
        judged_for_dead_units=_judged_for_dead_units(layers, graph.fields if graph is not None else {}),
        training_inputs=_tensor_series(run, metadata.KIND_INPUTS, (len(metadata.INPUT_STATISTIC_NAMES),)),
        loss=_tensor_series(run, metadata.KIND_LOSS, ()),
    )


def _tensor_series(run: RunAccess, kind: str, shape: tuple[int, ...]) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """``(steps, values)`` of a run-wide tensor kind (values of ``shape``), or None when it has none."""
    info = run.tags().get(metadata.tag_for(kind))
    if info is None:
        return None
    # One value per step (the latest: a resumed run logs its steps again).
    latest = {step: value for step, value in run.tensors(info) if value.shape == shape}
    if not latest:
        return None
    steps = np.array(sorted(latest), dtype=np.int64)
    return steps, np.stack([latest[int(step)] for step in steps]).astype(np.float64)


# Modules after which a unit's sign says nothing about whether it fires: they rescale it.
_NORMALIZATIONS = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "LocalResponseNorm")


def _judged_for_dead_units(layers: list[str], graph: dict[str, Any]) -> Optional[frozenset[str]]:
    """Layers whose units can be dead: not feeding the model's output or a normalization layer."""
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list) or not edges:
        return None
    types = {node.get("id"): str(node.get("type", "")) for node in nodes if isinstance(node, dict)}
    excluded = set()
    for edge in edges:
        if not isinstance(edge, dict):
            continue
        target = edge.get("target")
        if target == "output" or types.get(target, "").startswith(_NORMALIZATIONS):
            excluded.add(edge.get("source"))
    return frozenset(layer for layer in layers if layer not in excluded)


def _confusion_series(
    run: RunAccess, tags: dict[str, TagInfo], complete: set[int]
) -> Optional[tuple[np.ndarray, np.ndarray]]:
    info = tags.get(metadata.tag_for(metadata.KIND_CONFUSION))
    if info is None:
        return None
    refs = [ref for ref in run.steps(info) if ref.step in complete]
    if not refs:
        return None
    counts = []
    for ref, header in zip(refs, run.headers(info, refs)):
        listed = header.fields.get("counts")
        if isinstance(listed, list):
            counts.append(np.asarray(listed, dtype=np.int64))
        else:  # written before the header carried the counts
            counts.append(run.read(run.record_at(info, ref), arrays=("counts",)).arrays["counts"].astype(np.int64))
    shapes = {matrix.shape for matrix in counts}
    if len(shapes) != 1:
        raise RequestError(f"run {run.run!r} has confusion matrices of different sizes: {sorted(shapes)}")
    return np.array([ref.step for ref in refs], dtype=np.int64), np.stack(counts)


def _dead_unit_shares(run: RunAccess, complete: set[int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    shares: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for layer, info in run.layers_with(metadata.KIND_UNITS).items():
        refs = [ref for ref in run.steps(info) if ref.step in complete]
        if not refs:
            continue
        values = [_dead_share(run, info, ref, header) for ref, header in zip(refs, run.headers(info, refs))]
        shares[layer] = (np.array([ref.step for ref in refs], dtype=np.int64), np.array(values, dtype=np.float64))
    return shares


def _dead_share(run: RunAccess, info: TagInfo, ref: Any, header: records.Record) -> float:
    units, dead = header.fields.get("units"), header.fields.get("dead_units")
    if isinstance(units, int) and isinstance(dead, int):
        return dead / units if units else 0.0
    best = run.read(run.record_at(info, ref), arrays=("top_values",)).arrays["top_values"][:, :1].astype(np.float64)
    return float(np.mean(best <= 0)) if best.size else 0.0


def link(run: str, finding: rules.Finding) -> str:
    """The dashboard URL hash that opens ``finding``'s evidence: its view, run, layer, step and selection."""
    query: dict[str, str] = {"run": run, "view": finding.view}
    for key, value in finding.selection.items():
        name = _HASH_NAMES.get(key)
        if name is None:
            continue
        query[name] = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    return "#" + urlencode(query, safe=",")


def spike_link(run: str, spike: rules.LossSpike) -> str:
    """The dashboard URL hash that opens Training dynamics at a loss spike's step (its first ranked layer, if any)."""
    query = {"run": run, "view": "dynamics", "step": str(spike.step)}
    if spike.lead_lag:
        query["layer"] = str(spike.lead_lag[0]["layer"])
    return "#" + urlencode(query)


def answer_findings(run: RunAccess) -> dict[str, Any]:
    """``{"run", "findings": [{"kind", "severity", "layer", "step", "last_step", "message", "evidence", "link"}],
    "loss_spikes": [...]}``.

    Findings are ordered by severity (error, warning, info), then step, then the layers' forward
    order. ``loss_spikes`` (earliest first, when the log has the loss): ``{"step", "last_step",
    "loss", "peak", "median", "threshold", "recovered", "message", "lead_lag", "link"}``.
    """
    evidence = gather_evidence(run)
    found = rules.find(evidence)
    spikes = rules.loss_spikes(evidence)
    return {
        "run": run.run,
        "findings": [
            {
                **{
                    key: value for key, value in dataclasses.asdict(finding).items() if key not in ("view", "selection")
                },
                "link": link(run.run, finding),
            }
            for finding in found
        ],
        "loss_spikes": [{**dataclasses.asdict(spike), "link": spike_link(run.run, spike)} for spike in spikes],
    }


def findings_route(request: RouteRequest) -> Reply:
    """``findings?run=``: the run's findings (JSON), recomputed only when the log has grown."""
    run = request.run()
    freshness = tuple(sorted((info.tag, info.max_step, info.max_wall_time) for info in run.tags().values()))
    return Reply(lambda: json_payload(answer_findings(run)), ("findings", run.experiment, run.run, freshness))


ROUTES = (Route("findings", findings_route),)
