"""What each unit responds to: a layer's units at a checkpoint, one unit's top images and their crops,
the layer's units over every checkpoint, and the units of every layer that respond to two classes.

A units record (``summary.units_summary``) holds, per unit of a layer, its k best eval images with
their scores, positions and receptive-field boxes, and the class means of its rectified output;
selectivity, top class, dead units and stability are derived here with ``analysis.units``, so
better rules apply to old logs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlencode

import numpy as np

from ...analysis import units as unit_analysis
from ...contract import metadata, records
from .. import params, render
from ..access import RecordRef, RunAccess, TagInfo
from ..errors import NotFound, Unreadable
from ..index import run_layer_order
from ..routing import Reply, Route, RouteRequest, json_payload, numbers, png_payload

# The side of each crop of a top-images sprite, by default and at most.
DEFAULT_CROP_SIZE = 48
MIN_CROP_SIZE = 8
MAX_CROP_SIZE = 256
DEFAULT_PAIR_LIMIT = 10
MAX_PAIR_LIMIT = 100
HISTOGRAM_BINS = 10
# The history's per-unit series are rounded to this many decimals: a layer of 512 units over 300
# checkpoints is 150,000 numbers per series, and a chart needs no more.
HISTORY_DECIMALS = 4
# Records of many checkpoints or layers are read this many at a time (a read through the Rust
# data server is a round trip of tens of milliseconds however small the record).
CONCURRENT_READS = 8

_ARRAYS = ("top_images", "top_values", "top_positions", "top_boxes", "class_means", "mean")
_readers = concurrent.futures.ThreadPoolExecutor(max_workers=CONCURRENT_READS, thread_name_prefix="deepviz-units")


@dataclasses.dataclass(frozen=True)
class Units:
    """One units record, checked, with the values derived from it.

    Attributes:
      record: the decoded record (fields and arrays as ``summary.units_summary`` documents them).
      selectivity: float64 ``[U]`` class selectivity index of each unit.
      top_class: int64 ``[U]`` the class each unit is most active for.
      max: float64 ``[U]`` each unit's best score over the eval set (NaN when it has no top image).
      dead: bool ``[U]`` units never positive on any eval image.
    """

    record: records.Record
    selectivity: np.ndarray
    top_class: np.ndarray
    max: np.ndarray
    dead: np.ndarray

    @property
    def count(self) -> int:
        return len(self.selectivity)

    def array(self, name: str) -> np.ndarray:
        return self.record.arrays[name]


def units_record(run: RunAccess, at: RecordRef) -> records.Record:
    """The units record at ``at``, checked; ``Unreadable`` for one whose arrays do not fit together."""
    record = run.read(at, arrays=_ARRAYS)
    where = f"{at.tag} at step {at.step}"
    arrays = record.arrays
    images = arrays["top_images"]
    if images.ndim != 2:
        raise Unreadable(f"{where}: top_images must be [units, k], got shape {list(images.shape)}")
    count, k = images.shape
    expected = {"top_values": (count, k), "top_positions": (count, k, 2), "top_boxes": (count, k, 4), "mean": (count,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise Unreadable(f"{where}: {name} must have shape {list(shape)}, got {list(arrays[name].shape)}")
    means = arrays["class_means"]
    if means.ndim != 2 or len(means) != count:
        raise Unreadable(f"{where}: class_means must be [{count}, classes], got shape {list(means.shape)}")
    if np.any(means < 0):
        raise Unreadable(f"{where}: class_means are negative, not means of a rectified output")
    input_shape = record.fields.get("input_shape")
    if not (
        isinstance(input_shape, list)
        and len(input_shape) == 2
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape)
    ):
        raise Unreadable(f"{where}: input_shape must be [H, W] of positive integers, got {input_shape!r}")
    return record


def read_units(run: RunAccess, at: RecordRef) -> Units:
    """The units record at ``at`` (``units_record``) with the values derived from it."""
    record = units_record(run, at)
    images, means = record.arrays["top_images"], record.arrays["class_means"]
    selectivity, top_class = unit_analysis.class_selectivity(means)
    best = np.full(len(images), np.nan)
    if images.shape[1]:
        present = images[:, 0] >= 0
        best[present] = record.arrays["top_values"][present, 0]
    return Units(record, selectivity, top_class, best, unit_analysis.dead_units(best))


def _check_unit(units: Units, at: RecordRef, unit: int) -> None:
    if not 0 <= unit < units.count:
        raise NotFound(f"unit {unit} outside 0..{units.count - 1} of layer {at.info.layer!r}")


def answer_units(run: RunAccess, at: RecordRef) -> dict[str, Any]:
    """Every unit of a layer at a checkpoint: its best score, mean, top class, selectivity and whether it is dead.

    Returns:
      ``{"layer", "step", "k", "output_shape", "input_shape", "rectified", "units": [{"unit",
      "max", "mean", "top_class", "selectivity", "dead"}], "class_means": [[per class] per unit],
      "selectivity_histogram": {"edges": [11 floats 0..1], "counts": [10 ints]}}``; the histogram
      counts every unit, dead ones (selectivity 0) included.
    """
    units = read_units(run, at)
    fields = units.record.fields
    edges, counts = unit_analysis.selectivity_histogram(units.selectivity, HISTOGRAM_BINS)
    rows = zip(numbers(units.max), numbers(units.array("mean")), units.top_class.tolist(), numbers(units.selectivity))
    return {
        "layer": at.info.layer,
        "step": at.step,
        "k": int(units.array("top_images").shape[1]),
        "output_shape": fields.get("output_shape", []),
        "input_shape": fields["input_shape"],
        "rectified": True,
        "units": [
            {"unit": i, "max": best, "mean": mean, "top_class": top, "selectivity": selectivity, "dead": bool(dead)}
            for i, ((best, mean, top, selectivity), dead) in enumerate(zip(rows, units.dead))
        ],
        "class_means": numbers(units.array("class_means")),
        "selectivity_histogram": {"edges": numbers(edges), "counts": counts.tolist()},
    }


def _sprite_url(at: RecordRef, unit: int) -> str:
    query = {"run": at.run, "layer": at.info.layer, "unit": str(unit), "step": str(at.step)}
    return "top_images_sprite?" + urlencode(query)


def answer_top_images(run: RunAccess, at: RecordRef, unit: int) -> dict[str, Any]:
    """One unit's top images, best first (padding dropped), with their scores, boxes and positions.

    Returns:
      ``{"layer", "step", "unit", "images", "values", "boxes": [[top, left, bottom, right]],
      "positions": [[row, col]], "input_shape", "class_means", "selectivity", "top_class", "dead",
      "sprite", "cell"}``: ``sprite`` is the relative URL of the crops of these images at this
      step (None when the unit has none), ``cell`` the side of each crop in it.

    Raises:
      NotFound: a unit outside the layer, naming the range.
    """
    units = read_units(run, at)
    _check_unit(units, at, unit)
    images = units.array("top_images")[unit]
    present = images >= 0
    return {
        "layer": at.info.layer,
        "step": at.step,
        "unit": unit,
        "images": images[present].tolist(),
        "values": numbers(units.array("top_values")[unit][present]),
        "boxes": units.array("top_boxes")[unit][present].tolist(),
        "positions": units.array("top_positions")[unit][present].tolist(),
        "input_shape": units.record.fields["input_shape"],
        "class_means": numbers(units.array("class_means")[unit]),
        "selectivity": float(units.selectivity[unit]),
        "top_class": int(units.top_class[unit]),
        "dead": bool(units.dead[unit]),
        "sprite": _sprite_url(at, unit) if present.any() else None,
        "cell": DEFAULT_CROP_SIZE,
    }


def answer_top_images_sprite(
    run: RunAccess, at: RecordRef, corpus: RecordRef, unit: int, size: int = DEFAULT_CROP_SIZE
) -> bytes:
    """PNG of one unit's top-image crops side by side, in the order of ``answer_top_images``' ``images``.

    Each crop is the image's box mapped from input pixels onto its corpus thumbnail (at least
    1 px) and resized to ``size`` x ``size`` (``render.render_crops``).

    Args:
      run: the run's records.
      at: the layer's units record at the checkpoint.
      corpus: the run's corpus record (the thumbnails).
      unit: the unit.
      size: the side of each crop in pixels.

    Raises:
      NotFound: a unit outside the layer, or one without top images. Unreadable: a top image the
        corpus does not hold.
    """
    units = read_units(run, at)
    _check_unit(units, at, unit)
    images = units.array("top_images")[unit]
    present = images >= 0
    if not present.any():
        raise NotFound(f"unit {unit} of layer {at.info.layer!r} has no top images at step {at.step}")
    thumbnails = run.read(corpus).arrays.get("thumbnails")
    if thumbnails is None or thumbnails.ndim != 4:
        raise Unreadable(f"the corpus of run {at.run!r} holds no thumbnails [N, h, w, c]")
    chosen = images[present]
    outside = chosen[chosen >= len(thumbnails)]
    if outside.size:
        raise Unreadable(
            f"{at.tag} at step {at.step} names images {outside.tolist()} outside the corpus of {len(thumbnails)}"
        )
    boxes = units.array("top_boxes")[unit][present]
    return render.render_crops(thumbnails[chosen], boxes, units.record.fields["input_shape"], size)[0]


# ----------------------------------------------------------------------------- history

StepSummary = Callable[[Optional[RecordRef], RecordRef], dict[str, Any]]


def units_step(run: RunAccess, previous: Optional[RecordRef], at: RecordRef) -> dict[str, Any]:
    """What the history shows of one checkpoint: per-unit selectivity and stability, median and dead fraction.

    Stability is the Jaccard overlap of each unit's top images with those at ``previous`` (1.0 for
    every unit without a previous checkpoint). Per-unit values are rounded to ``HISTORY_DECIMALS``.

    Returns:
      ``{"selectivity": [per unit], "stability": [per unit], "median_selectivity", "dead_fraction"}``
      (JSON values: a step's summary is kept between requests as JSON).
    """
    units = read_units(run, at)
    if previous is None:
        stability = np.ones(units.count)
    else:
        before = units_record(run, previous).arrays["top_images"]
        if len(before) != units.count:
            raise Unreadable(
                f"{at.tag} holds {len(before)} units at step {previous.step} and {units.count} at step {at.step}"
            )
        stability = unit_analysis.top_image_stability(before, units.array("top_images"))
    count = max(units.count, 1)
    return {
        "selectivity": numbers(np.round(units.selectivity, HISTORY_DECIMALS)),
        "stability": numbers(np.round(stability, HISTORY_DECIMALS)),
        "median_selectivity": float(np.median(units.selectivity)) if units.count else 0.0,
        "dead_fraction": float(units.dead.sum()) / count,
    }


def answer_units_history(run: RunAccess, info: TagInfo, summarize: Optional[StepSummary] = None) -> dict[str, Any]:
    """A layer's units over every checkpoint with a units record of it, steps ascending.

    Args:
      run: the run's records.
      info: the layer's units tag.
      summarize: one checkpoint's summary (``units_step`` when None; the route passes one that
        keeps each checkpoint's summary, so a growing log reads only its new records).

    Returns:
      ``{"layer", "steps", "median_selectivity": [per step], "dead_fraction": [per step],
      "selectivity": [[per unit] per step], "stability": [[per unit] per step]}``; the
      median counts every unit, dead ones included.
    """
    step_summary = summarize or (lambda previous, at: units_step(run, previous, at))
    refs = [run.record_at(info, ref) for ref in run.steps(info)]
    # Concurrently: each checkpoint not summarized before is a record (or two) to read.
    summaries = list(_readers.map(step_summary, [None, *refs[:-1]], refs))
    return {
        "layer": info.layer,
        "steps": [at.step for at in refs],
        "median_selectivity": [s["median_selectivity"] for s in summaries],
        "dead_fraction": [s["dead_fraction"] for s in summaries],
        "selectivity": [s["selectivity"] for s in summaries],
        "stability": [s["stability"] for s in summaries],
    }


# ----------------------------------------------------------------------------- class pairs


def units_at_step(run: RunAccess, step: Optional[int]) -> list[RecordRef]:
    """The units records of every layer at ``step`` (the newest step any layer has when None), in the model's order.

    Raises:
      NotFound: the run has no units records, or none at ``step`` (naming the steps it has).
    """
    tags = run.layers_with(metadata.KIND_UNITS)
    if not tags:
        raise NotFound(f"run {run.run!r} has no units records")
    order = [name for name in run_layer_order(run) if name in tags]
    steps = {name: {ref.step: ref for ref in run.steps(tags[name])} for name in order}
    every_step = sorted(set().union(*(set(refs) for refs in steps.values())))
    if not every_step:
        raise NotFound(f"run {run.run!r} has no units records yet")
    chosen = every_step[-1] if step is None else step
    found = [run.record_at(tags[name], steps[name][chosen]) for name in order if chosen in steps[name]]
    if not found:
        shown = ", ".join(map(str, every_step)) if len(every_step) <= 12 else f"{every_step[0]} to {every_step[-1]}"
        raise NotFound(f"run {run.run!r} has no units records at step {chosen}; steps: {shown}")
    return found


def answer_class_pair_units(
    run: RunAccess, located: Sequence[RecordRef], a: int, b: int, limit: int = DEFAULT_PAIR_LIMIT
) -> dict[str, Any]:
    """The units of every layer that respond to both classes ``a`` and ``b``, best first.

    A unit's score is ``min(class_means[a], class_means[b]) / max(mean of its class means, 1e-7)``
    (``analysis.units.class_pair_scores``); only units scoring above 1 (more active for each of
    the two classes than for the average class) are listed, at most ``limit``, ties in the
    model's layer order and then by unit.

    Args:
      run: the run's records.
      located: the units records of one checkpoint (``units_at_step``).
      a, b: class indices.
      limit: how many units at most.

    Returns:
      ``{"step", "a", "b", "units": [{"layer", "unit", "mean_a", "mean_b", "score"}]}``.

    Raises:
      NotFound: a class outside the classes of the records, naming the range.
    """
    candidates = []
    every_layer = _readers.map(lambda at: read_units(run, at), located)
    for position, (at, units) in enumerate(zip(located, every_layer)):
        means = units.array("class_means")
        classes = means.shape[1]
        for name, value in (("a", a), ("b", b)):
            if value >= classes:
                raise NotFound(f"class {name}={value} outside 0..{classes - 1} of layer {at.info.layer!r}")
        scores = unit_analysis.class_pair_scores(means, a, b)
        for unit in np.flatnonzero(scores > 1.0):
            candidates.append((-float(scores[unit]), position, int(unit), at, means[unit]))
    candidates.sort(key=lambda item: item[:3])
    return {
        "step": located[0].step if located else None,
        "a": a,
        "b": b,
        "units": [
            {
                "layer": at.info.layer,
                "unit": unit,
                "mean_a": float(means[a]),
                "mean_b": float(means[b]),
                "score": -negative_score,
            }
            for negative_score, _, unit, at, means in candidates[:limit]
        ],
    }


# ----------------------------------------------------------------------------- routes


def _unit_query(request: RouteRequest) -> tuple[RunAccess, RecordRef, int]:
    run = request.run()
    at = run.locate(metadata.KIND_UNITS, request.layer(), request.step())
    return run, at, params.integer(request.args, "unit", minimum=0)


def units_route(request: RouteRequest) -> Reply:
    """``units?run=&layer=[&step=]``: every unit of the layer (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_UNITS, request.layer(), request.step())
    return Reply(lambda: json_payload(answer_units(run, at)), at.identity("units"))


def top_images_route(request: RouteRequest) -> Reply:
    """``top_images?run=&layer=&unit=[&step=]``: one unit's top images (JSON)."""
    run, at, unit = _unit_query(request)
    return Reply(lambda: json_payload(answer_top_images(run, at, unit)), at.identity("top_images", unit), keep=False)


def top_images_sprite_route(request: RouteRequest) -> Reply:
    """``top_images_sprite?run=&layer=&unit=[&step=][&size=48]``: the unit's top-image crops (PNG)."""
    run, at, unit = _unit_query(request)
    size = params.optional_integer(
        request.args, "size", minimum=MIN_CROP_SIZE, maximum=MAX_CROP_SIZE, default=DEFAULT_CROP_SIZE
    )
    corpus = run.locate(metadata.KIND_CORPUS)
    return Reply(
        lambda: png_payload(answer_top_images_sprite(run, at, corpus, unit, size)),
        at.identity("top_images_sprite", unit, size, corpus.step, corpus.ref.wall_time),
    )


def units_history_route(request: RouteRequest) -> Reply:
    """``units_history?run=&layer=``: the layer's units over every checkpoint (JSON)."""
    run = request.run()
    info = run.tag(metadata.KIND_UNITS, request.layer())
    refs = run.steps(info)
    if not refs:
        raise NotFound(f"{info.tag} in run {run.run!r} has no steps yet")

    def summarize(previous: Optional[RecordRef], at: RecordRef) -> dict[str, Any]:
        # A checkpoint's summary never changes: a growing log reads only its new records.
        before = (previous.step, previous.ref.wall_time) if previous else None
        key = ("units-step", run.experiment, run.run, info.tag, before, at.step, at.ref.wall_time)
        value: dict[str, Any] = request.memo(key, lambda: units_step(run, previous, at))
        return value

    # The history grows with the log: its newest step and length are part of the answer's name.
    identity = ("units_history", run.experiment, run.run, info.tag, len(refs), refs[-1].step, refs[-1].wall_time)
    return Reply(lambda: json_payload(answer_units_history(run, info, summarize)), identity)


def class_pair_units_route(request: RouteRequest) -> Reply:
    """``class_pair_units?run=&a=&b=[&step=][&limit=10]``: units of every layer responding to both classes (JSON)."""
    run = request.run()
    a = params.integer(request.args, "a", minimum=0)
    b = params.integer(request.args, "b", minimum=0)
    limit = params.optional_integer(
        request.args, "limit", minimum=1, maximum=MAX_PAIR_LIMIT, default=DEFAULT_PAIR_LIMIT
    )
    located = units_at_step(run, request.step())
    # Layers' records of a checkpoint arrive one by one in a live log: each one read names the answer.
    records_read = tuple((at.tag, at.step, at.ref.wall_time) for at in located)
    return Reply(
        lambda: json_payload(answer_class_pair_units(run, located, a, b, limit)),
        ("class_pair_units", run.experiment, run.run, a, b, limit, records_read),
    )


ROUTES = (
    Route("units", units_route),
    Route("top_images", top_images_route),
    Route("top_images_sprite", top_images_sprite_route),
    Route("units_history", units_history_route),
    Route("class_pair_units", class_pair_units_route),
)
