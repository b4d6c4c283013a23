"""What a run holds: its layers in the model's order, its checkpoints, and which of them are complete.

A live log's newest checkpoint may be half written. The writer ends each checkpoint with a
marker record naming the tags it wrote (docs/ARCHITECTURE.md, "The data contract", checkpoint
completeness); ``complete_steps`` holds the rules by which the server lists a step only once
every record of it can be read.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Collection, Mapping, Optional

from ..contract import metadata, records
from .access import RunAccess, TagInfo
from .errors import RequestError

# The kinds written at every checkpoint (the marker aside): a checkpoint's steps are theirs.
CHECKPOINT_KINDS = (
    metadata.KIND_PREDICTIONS,
    metadata.KIND_CONFUSION,
    metadata.KIND_CLUSTERS,
    metadata.KIND_WEIGHTS,
    metadata.KIND_ACTIVATIONS,
)
# Kinds a checkpoint may hold or not (turned off, or written on their own cadence): their steps are
# listed in ``steps_by_kind`` but do not decide which steps are checkpoints.
OPTIONAL_CHECKPOINT_KINDS = (
    metadata.KIND_UNITS,
    metadata.KIND_ATTRIBUTION,
    metadata.KIND_FEATURE_VIS,
    metadata.KIND_SIMILARITY,
)


@dataclasses.dataclass(frozen=True)
class Markers:
    """What a run's checkpoint markers say.

    Attributes:
      steps: the steps whose marker is in the log.
      expected_tags: the tags the newest readable marker named (empty when none could be read).
    """

    steps: frozenset[int]
    expected_tags: tuple[str, ...]


def complete_steps(
    max_steps: Mapping[str, int], checkpoint_tags: Collection[str], markers: Optional[Markers]
) -> Callable[[int], bool]:
    """Which checkpoint steps have every record written (a live log's newest may not yet).

    Readers see a log's records in the order they were written, so with markers a step is
    complete once its marker is seen, or once any record of a later step is, or (records added
    with the summary functions, without markers) once every tag the newest marker named has
    reached it. A log without markers counts a step complete once every checkpoint tag has
    reached it.

    Args:
      max_steps: the newest step of each of the run's tags.
      checkpoint_tags: the run's tags of ``CHECKPOINT_KINDS``.
      markers: the run's markers; None for a log written without them (neither a marker nor a
        graph announcing them).

    Returns:
      A predicate on steps.
    """
    if markers is None:
        written_up_to = min((max_steps[tag] for tag in checkpoint_tags), default=-1)
        return lambda step: step <= written_up_to
    newest = max(max_steps.values(), default=-1)
    expected = markers.expected_tags

    def complete(step: int) -> bool:
        if step < newest or step in markers.steps:
            return True
        return bool(expected) and all(max_steps.get(tag, -1) >= step for tag in expected)

    return complete


def read_markers(run: RunAccess, announced: bool) -> Optional[Markers]:
    """The run's checkpoint markers; None when it has none and its graph does not announce them."""
    info = run.tags().get(metadata.tag_for(metadata.KIND_CHECKPOINT))
    if info is None:
        return Markers(frozenset(), ()) if announced else None
    refs = run.steps(info)
    expected: tuple[str, ...] = ()
    if refs:
        try:
            fields = run.read(run.record_at(info, refs[-1]), header_only=True).fields
        except RequestError:  # an unreadable marker: only the other rules apply
            fields = {}
        tags = fields.get("tags")
        if isinstance(tags, list):
            expected = tuple(tag for tag in tags if isinstance(tag, str))
    return Markers(frozenset(ref.step for ref in refs), expected)


def layer_order(tags: Mapping[str, TagInfo], graph: Optional[records.Record]) -> list[str]:
    """The run's layers: in the order the graph logged them, then any others by name."""
    layers = {info.layer for info in tags.values() if info.kind in metadata.PER_LAYER_KINDS}
    logged = (graph.fields.get("logged_layers") if graph else None) or []
    ordered = [name for name in logged if name in layers]
    return ordered + sorted(layers - set(ordered))


def run_layer_order(run: RunAccess) -> list[str]:
    """``layer_order`` of a run, reading its graph."""
    return layer_order(run.tags(), run.latest(metadata.KIND_GRAPH))


def summarize_run(run: RunAccess) -> dict[str, Any]:
    """The index's entry for one run: layers, checkpoints (complete and partial), kinds, eval set.

    Returns:
      ``{"run", "layers": [{"name", "kind", "output_shape", "parameter_shapes", "has_weights",
      "has_activations", "has_statistics", "has_units", "has_attribution", "has_feature_vis"}], "checkpoints",
      "partial_checkpoints", "steps_by_kind", "statistics_steps": {"count", "first", "last"},
      "class_names", "corpus_size", "thumbnail_shape", "kinds", "cluster_layer"}``.
    """
    tags = run.tags()
    by_kind: dict[str, list[TagInfo]] = {}
    for info in tags.values():
        by_kind.setdefault(info.kind, []).append(info)
    steps_by_kind = {}
    for kind in CHECKPOINT_KINDS:
        infos = sorted(by_kind.get(kind, []), key=lambda i: i.tag)
        if infos:  # every tag of a kind has the same steps: the first one's stand for them
            steps_by_kind[kind] = [ref.step for ref in run.steps(infos[0])]
    for kind in OPTIONAL_CHECKPOINT_KINDS:  # layers may differ (feature visualization): their union
        infos = by_kind.get(kind, [])
        if infos:
            steps_by_kind[kind] = sorted({ref.step for info in infos for ref in run.steps(info)})
    graph = run.latest(metadata.KIND_GRAPH)
    corpus = run.latest(metadata.KIND_CORPUS, header_only=True)
    graph_fields = graph.fields if graph else {}
    nodes = {node.get("module"): node for node in graph_fields.get("nodes", [])}
    layers = []
    for name in layer_order(tags, graph):
        node = nodes.get(name, {})
        layers.append(
            {
                "name": name,
                "kind": node.get("type", ""),
                "output_shape": node.get("output_shape", []),
                "parameter_shapes": node.get("parameter_shapes", {}),
                "has_weights": metadata.tag_for(metadata.KIND_WEIGHTS, name) in tags,
                "has_activations": metadata.tag_for(metadata.KIND_ACTIVATIONS, name) in tags,
                "has_statistics": metadata.tag_for(metadata.KIND_STATISTICS, name) in tags,
                "has_units": metadata.tag_for(metadata.KIND_UNITS, name) in tags,
                "has_attribution": metadata.tag_for(metadata.KIND_ATTRIBUTION, name) in tags,
                "has_feature_vis": metadata.tag_for(metadata.KIND_FEATURE_VIS, name) in tags,
            }
        )
    core_steps = [steps for kind, steps in steps_by_kind.items() if kind in CHECKPOINT_KINDS]
    every_step = sorted(set().union(*core_steps)) if core_steps else []
    complete = complete_steps(
        {info.tag: info.max_step for info in tags.values()},
        [info.tag for kind in CHECKPOINT_KINDS for info in by_kind.get(kind, [])],
        read_markers(run, announced=bool(graph_fields.get("checkpoint_markers"))),
    )
    corpus_fields = corpus.fields if corpus else {}
    corpus_arrays = {entry["name"]: entry for entry in corpus_fields.get("_arrays", [])}
    return {
        "run": run.run,
        "layers": layers,
        "checkpoints": [step for step in every_step if complete(step)],
        "partial_checkpoints": [step for step in every_step if not complete(step)],
        "steps_by_kind": steps_by_kind,
        "statistics_steps": _statistics_steps(run, by_kind.get(metadata.KIND_STATISTICS, [])),
        "class_names": corpus_fields.get("class_names", []),
        "corpus_size": corpus_arrays.get("labels", {}).get("shape", [0])[0],
        "thumbnail_shape": corpus_arrays.get("thumbnails", {}).get("shape", [0, 0, 0, 0])[1:],
        "kinds": sorted(by_kind),
        "cluster_layer": graph_fields.get("cluster_layer", ""),
    }


def _statistics_steps(run: RunAccess, infos: list[TagInfo]) -> dict[str, Optional[int]]:
    """How many steps ``log_step`` recorded, and the first and last (one layer's stand for all)."""
    if infos:
        first = min(infos, key=lambda i: i.tag)
        series = run.statistics([first])[first.layer]
        if series:
            return {"count": len(series), "first": series[0][0], "last": series[-1][0]}
    return {"count": 0, "first": None, "last": None}
