"""Findings: rules that judge a run from what it logged, each with the evidence and where it shows.

Rules run over logged numbers only (layer statistics per step, confusion and units records per
checkpoint, the eval set's input statistics), so better rules apply to old logs. Each rule names
the first step its condition held and the last, and the numbers behind it. Except NaN/Inf, which
is an error at once, a condition must hold at ``PERSIST`` consecutive checkpoints before it warns;
a finding whose condition no longer holds at the latest checkpoint is reported as resolved
(``info``): early confusion or a brief spike is normal training. Thresholds and their sources are
the ``*_`` constants below; healthy runs must raise no warning (``benchmarks/RESULTS.md`` records
the calibration).

Sources of the thresholds: AUTOTRAINER (Zhang et al., ICSE 2021) for the gradient-norm ratio of
the first layer to the last (< 1e-3 vanishing, > 70 exploding); keras-contrib's dead-ReLU
detector (10% of a layer's channels) and TFCheck (95%) for dead units; DLCheck for saturation
(mean |a| > 0.95 of a bounded activation's range) and update ratios.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..contract import metadata

KINDS = (
    "nan_inf",
    "exploding_gradients",
    "vanishing_gradients",
    "dead_units",
    "saturated_units",
    "frozen_layer",
    "unstable_updates",
    "confused_classes",
    "input_scale",
    "not_learning",
)
SEVERITIES = ("error", "warning", "info")

# Consecutive checkpoints a condition must hold before it warns (NaN/Inf excepted).
PERSIST = 3
# Gradient norm of the first logged layer over the last one's (AUTOTRAINER's beta1 and beta3).
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 70.0
# A layer's gradient norm that is exploding whatever the ratio (DLCheck: 1e6).
EXPLODING_NORM = 1e6
# With a ratio above EXPLODING_RATIO, the first layer's gradient norm must also have grown this much
# over its first checkpoints' (ours: a converging last layer alone makes the ratio large).
EXPLODING_GROWTH = 10.0
# Share of a layer's units never positive on the eval set: information, a warning, an error.
DEAD_INFO_SHARE = 0.10
DEAD_WARNING_SHARE = 0.50
DEAD_ERROR_SHARE = 0.95
# A class pair takes this share of the true class's row of the confusion matrix (0.3 let a healthy run
# end with a 31% pair: the calibration in RESULTS.md).
CONFUSED_SHARE = 0.40
# Accuracy within this many times chance (1 / classes), at several checkpoints, is not learning.
CHANCE_FACTOR = 1.5
# Share of a layer's outputs that saturate the bounded activation after it (within 1% of its
# bounds, where its gradient vanishes). DLCheck's rule is mean |a| > 0.95 of the range; ours
# counts outputs, so half of them pinned is the warning.
SATURATED_SHARE = 0.5
# Update ratio ||dW|| / ||W|| of one step: about 1e-3 is usual; 100 times that is unstable.
UNSTABLE_UPDATE_RATIO = 0.1
# Eval images this far from normalized: |mean| or std beyond these, or values beyond this magnitude.
INPUT_MEAN_LIMIT = 5.0
INPUT_STD_LIMIT = 10.0
INPUT_MAGNITUDE_LIMIT = 50.0

_SEVERITY_ORDER = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing wrong with a run.

    Attributes:
      kind: one of ``KINDS``.
      severity: ``"error"``, ``"warning"`` or ``"info"``.
      layer: the module it concerns, or None.
      step: the first step it was seen; ``last_step``: the last.
      message: one plain sentence.
      evidence: the numbers behind it, thresholds included.
      view: the dashboard view that shows the evidence; ``selection``: what that view selects
        (layer, step, statistic, classes...), turned into a link by the server.
    """

    kind: str
    severity: str
    layer: Optional[str]
    step: int
    last_step: int
    message: str
    evidence: dict[str, Any]
    view: str
    selection: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class LayerStatistics:
    """One layer's statistics records: ``rows[t]`` is ``[source, statistic]`` at ``steps[t]``."""

    steps: np.ndarray
    rows: np.ndarray

    def series(self, source: str, statistic: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` where the source was present (its count > 0)."""
        s = metadata.STATISTIC_SOURCES.index(source)
        present = self.rows[:, s, metadata.STATISTIC_NAMES.index("count")] > 0
        return self.steps[present], self.rows[present, s, metadata.STATISTIC_NAMES.index(statistic)]


@dataclasses.dataclass(frozen=True)
class RunEvidence:
    """What the rules read, gathered by the server from a run's records.

    Attributes:
      layers: logged layers in forward order.
      statistics: per layer, its statistics records.
      checkpoints: the run's checkpoint steps.
      confusion: ``(steps [C], counts [C, K, K])`` of the confusion records, or None.
      dead_units: per layer, ``(steps [C], share [C])`` of units never positive on the eval set.
      eval_inputs: statistics of the eval images as the model sees them (``mean``, ``std``,
        ``min``, ``max``), or None.
      class_names: one name per class, for messages.
      judged_for_dead_units: the layers whose units can be dead: not the model's output (logits
        are not rectified) and not a layer whose output a normalization layer rescales (a unit
        never positive before BatchNorm may fire after it). None: every layer but the last.
    """

    layers: Sequence[str]
    statistics: dict[str, LayerStatistics]
    checkpoints: Sequence[int]
    confusion: Optional[tuple[np.ndarray, np.ndarray]] = None
    dead_units: dict[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)
    eval_inputs: Optional[dict[str, float]] = None
    class_names: Sequence[str] = ()
    judged_for_dead_units: Optional[frozenset[str]] = None

    def class_name(self, index: int) -> str:
        """How messages name class ``index``: its name in quotes, else its number."""
        if 0 <= index < len(self.class_names):
            return repr(str(self.class_names[index]))
        return f"class {index}"


def find(evidence: RunEvidence) -> list[Finding]:
    """Every finding of a run, ordered by severity, then step, then the layers' forward order."""
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule(evidence))
    order = {name: rank for rank, name in enumerate(evidence.layers)}
    return sorted(
        found,
        key=lambda f: (_SEVERITY_ORDER[f.severity], f.step, order.get(f.layer or "", -1), f.kind),
    )


# ------------------------------------------------------------------------------ persistence


@dataclasses.dataclass(frozen=True)
class _Spell:
    """A run of consecutive checkpoints where a condition held."""

    first: int  # index into the checkpoints
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def _spells(held: Sequence[bool]) -> list[_Spell]:
    spells: list[_Spell] = []
    start: Optional[int] = None
    for index, value in enumerate(held):
        if value and start is None:
            start = index
        if not value and start is not None:
            spells.append(_Spell(start, index - 1))
            start = None
    if start is not None:
        spells.append(_Spell(start, len(held) - 1))
    return spells


def _persistent(steps: Sequence[int], held: Sequence[bool], persist: int = PERSIST) -> Optional[tuple[int, int, bool]]:
    """``(first step, last step, still holds at the latest checkpoint)`` of the first spell long enough.

    A spell still running at the latest checkpoint counts once it is ``persist`` long; when the
    condition held long enough earlier but not at the end, the finding is resolved.
    """
    long_enough = [spell for spell in _spells(held) if spell.length >= persist]
    if not long_enough:
        return None
    first, latest = long_enough[0], long_enough[-1]
    return int(steps[first.first]), int(steps[latest.last]), latest.last == len(held) - 1


def _at_checkpoints(steps: np.ndarray, values: np.ndarray, checkpoints: Sequence[int]) -> np.ndarray:
    """The value logged at or just before each checkpoint (NaN where nothing was logged yet)."""
    if not len(steps):
        return np.full(len(checkpoints), np.nan)
    where = np.searchsorted(steps, np.asarray(checkpoints), side="right") - 1
    result = np.where(where >= 0, values[np.clip(where, 0, None)], np.nan)
    return result.astype(np.float64)


# ------------------------------------------------------------------------------------ rules


# Within one logged step, the order in which NaN/Inf can arise: log_step runs after the optimizer
# step, so its activations come from the forward pass (layers in forward order), its gradients
# from the backward pass (the layer nearest the loss first), and its weights from the update that
# both fed. The first bad value in that order is the root; the rest is the flood it caused.
_CAUSAL_SOURCES = ("activations", "gradients", "weights")


def nan_inf(evidence: RunEvidence) -> list[Finding]:
    """The first step any logged tensor held NaN or Inf, at its root layer. An error at once.

    At that step the root is the first bad value in the order the training step made them:
    activations in forward order, then gradients from the loss backwards, then weights (bad
    alone only when the update itself overflowed). A weight that turned Inf between two steps
    shows first in its layer's output, while the update that follows floods every layer's
    weights with NaN.
    """
    nan = metadata.STATISTIC_NAMES.index("nan_count")
    inf = metadata.STATISTIC_NAMES.index("inf_count")
    first_bad: dict[str, tuple[int, int, np.ndarray]] = {}  # layer -> (first bad step, its row index, bad sources)
    for layer in evidence.layers:
        stats = evidence.statistics.get(layer)
        if stats is None or not len(stats.steps):
            continue
        bad = (stats.rows[:, :, nan] > 0) | (stats.rows[:, :, inf] > 0)  # [T, sources]
        hits = np.nonzero(bad.any(axis=1))[0]
        if len(hits):
            first_bad[layer] = (int(stats.steps[hits[0]]), int(hits[0]), bad[hits[0]])
    if not first_bad:
        return []
    step = min(found[0] for found in first_bad.values())
    at_step = {layer: found for layer, found in first_bad.items() if found[0] == step}
    forward = [layer for layer in evidence.layers if layer in at_step]
    root: Optional[tuple[str, str]] = None
    for source in _CAUSAL_SOURCES:
        index = metadata.STATISTIC_SOURCES.index(source)
        candidates = [layer for layer in forward if at_step[layer][2][index]]
        if candidates:
            root = (candidates[-1] if source == "gradients" else candidates[0], source)
            break
    assert root is not None
    layer, source = root
    stats = evidence.statistics[layer]
    row, source_index = at_step[layer][1], metadata.STATISTIC_SOURCES.index(source)
    counts = {
        "nan_count": int(stats.rows[row, source_index, nan]),
        "inf_count": int(stats.rows[row, source_index, inf]),
    }
    last = max(int(evidence.statistics[name].steps[-1]) for name in first_bad)
    what = {"weights": "weights", "gradients": "gradients", "activations": "output"}[source]
    return [
        Finding(
            kind="nan_inf",
            severity="error",
            layer=layer,
            step=step,
            last_step=last,
            message=f"{layer}: its {what} first held NaN or Inf at step {step}, before any other layer's",
            evidence={"source": source, **counts, "lead_lag": lead_lag(evidence, step)},
            view="dynamics",
            selection={"layer": layer, "step": step, "stat": "nan_count", "source": source},
        )
    ]


def gradient_norms(evidence: RunEvidence) -> list[Finding]:
    """Exploding or vanishing gradients from the first layer's gradient norm over the last one's."""
    # A frozen layer's gradients update nothing (and grow as the rest adapts around it): the
    # frozen_layer finding speaks for it, the ratio is taken between the layers that train.
    frozen = {finding.layer for finding in frozen_layers(evidence) if finding.severity == "warning"}
    layers = [layer for layer in evidence.layers if layer in evidence.statistics and layer not in frozen]
    if len(layers) < 2 or not evidence.checkpoints:
        return []
    first, last = layers[0], layers[-1]
    steps_first, norms_first = evidence.statistics[first].series("gradients", "norm")
    steps_last, norms_last = evidence.statistics[last].series("gradients", "norm")
    checkpoints = list(evidence.checkpoints)
    at_first = _at_checkpoints(steps_first, norms_first, checkpoints)
    at_last = _at_checkpoints(steps_last, norms_last, checkpoints)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = at_first / at_last
    findings: list[Finding] = []
    largest = np.full(len(checkpoints), -np.inf)
    for layer in layers:
        steps, norms = evidence.statistics[layer].series("gradients", "norm")
        largest = np.fmax(largest, _at_checkpoints(steps, norms, checkpoints))
    # A large ratio alone also comes from a last layer whose gradients shrink as its loss does: the
    # first layer's own gradients must have grown too.
    early = at_first[np.isfinite(at_first) & (at_first > 0)][:PERSIST]
    grown = at_first >= EXPLODING_GROWTH * float(np.median(early)) if len(early) else np.zeros(len(at_first), bool)
    exploding = (np.isfinite(ratio) & (ratio > EXPLODING_RATIO) & grown) | (
        np.isfinite(largest) & (largest > EXPLODING_NORM)
    )
    vanishing = np.isfinite(ratio) & (ratio < VANISHING_RATIO)
    for kind, held, condition in (
        ("exploding_gradients", exploding, f"above {EXPLODING_RATIO:g} (or a gradient norm above {EXPLODING_NORM:g})"),
        ("vanishing_gradients", vanishing, f"below {VANISHING_RATIO:g}"),
    ):
        spell = _persistent(checkpoints, held.tolist())
        if spell is None:
            continue
        start, end, ongoing = spell
        index = checkpoints.index(end)
        findings.append(
            Finding(
                kind=kind,
                severity="warning" if ongoing else "info",
                layer=first,
                step=start,
                last_step=end,
                message=(
                    f"{first}'s gradient norm is {ratio[index]:.3g} times {last}'s since step {start}, "
                    f"{condition}" + ("" if ongoing else f"; it no longer is after step {end}")
                    if ratio[index] > 0
                    else f"{first} gets no gradient at all ({last} does) since step {start}"
                    + ("" if ongoing else f"; it does again after step {end}")
                ),
                evidence={
                    "ratio": _number(ratio[index]),
                    "first_layer": first,
                    "last_layer": last,
                    "first_norm": _number(at_first[index]),
                    "last_norm": _number(at_last[index]),
                    "largest_norm": _number(largest[index]),
                    "thresholds": {"vanishing_ratio": VANISHING_RATIO, "exploding_ratio": EXPLODING_RATIO},
                },
                view="dynamics",
                selection={"layer": first, "step": end, "stat": "norm", "source": "gradients"},
            )
        )
    return findings


def dead_units(evidence: RunEvidence) -> list[Finding]:
    """Layers whose units never fire on the eval set (units records: never positive)."""
    findings: list[Finding] = []
    judged = evidence.judged_for_dead_units
    if judged is None:
        judged = frozenset(evidence.layers[:-1])
    for layer in evidence.layers:
        if layer not in evidence.dead_units or layer not in judged:
            continue
        steps, share = evidence.dead_units[layer]
        steps_list = [int(step) for step in steps]
        for severity, threshold in (("error", DEAD_ERROR_SHARE), ("warning", DEAD_WARNING_SHARE)):
            spell = _persistent(steps_list, (np.asarray(share) >= threshold).tolist())
            if spell is None:
                continue
            start, end, ongoing = spell
            latest = float(share[steps_list.index(end)])
            findings.append(
                Finding(
                    kind="dead_units",
                    severity=severity if ongoing else "info",
                    layer=layer,
                    step=start,
                    last_step=end,
                    message=(
                        f"{layer}: {latest:.0%} of units never fire on the eval set since step {start}"
                        + ("" if ongoing else f", no longer after step {end}")
                    ),
                    evidence={"dead_share": latest, "threshold": threshold},
                    view="units",
                    selection={"layer": layer, "step": end, "usort": "selectivity"},
                )
            )
            break
        else:
            latest_share = float(share[-1]) if len(share) else 0.0
            if latest_share >= DEAD_INFO_SHARE:
                findings.append(
                    Finding(
                        kind="dead_units",
                        severity="info",
                        layer=layer,
                        step=steps_list[-1],
                        last_step=steps_list[-1],
                        message=f"{layer}: {latest_share:.0%} of units never fire on the eval set",
                        evidence={"dead_share": latest_share, "threshold": DEAD_INFO_SHARE},
                        view="units",
                        selection={"layer": layer, "step": steps_list[-1]},
                    )
                )
    return findings


def frozen_layers(evidence: RunEvidence) -> list[Finding]:
    """Layers whose weights do not change between checkpoints while other layers' weights do.

    Weight statistics (mean, std, min, max, norm) identical in float64 from one checkpoint to the
    next mean identical weights: a layer left out of the optimizer, or a stray
    ``requires_grad=False``.
    """
    checkpoints = list(evidence.checkpoints)
    if len(checkpoints) < PERSIST + 1:
        return []
    names = [metadata.STATISTIC_NAMES.index(n) for n in ("mean", "std", "min", "max", "norm")]
    weights = metadata.STATISTIC_SOURCES.index("weights")
    gradients = metadata.STATISTIC_SOURCES.index("gradients")
    norm = metadata.STATISTIC_NAMES.index("norm")
    unchanged: dict[str, np.ndarray] = {}
    for layer in evidence.layers:
        stats = evidence.statistics.get(layer)
        if stats is None or not len(stats.steps):
            continue
        where = np.searchsorted(stats.steps, np.asarray(checkpoints), side="right") - 1
        values = stats.rows[np.clip(where, 0, None)][:, weights][:, names]  # [C, 5]
        present = (where >= 0) & (stats.rows[np.clip(where, 0, None), weights, 0] > 0)
        rows = stats.rows[np.clip(where, 0, None)]
        # Gradients that are there and all exactly zero explain still weights (dead units, vanishing
        # gradients: other rules); still weights with a gradient, or with none at all, do not.
        zero_gradient = (rows[:, gradients, 0] > 0) & (rows[:, gradients, norm] == 0)
        same = np.zeros(len(checkpoints), dtype=bool)
        same[1:] = present[1:] & present[:-1] & np.all(values[1:] == values[:-1], axis=1) & ~zero_gradient[1:]
        unchanged[layer] = same
    findings: list[Finding] = []
    for layer, same in unchanged.items():
        others = [other for name, other in unchanged.items() if name != layer]
        if not others:
            continue
        others_move = ~np.all(np.stack(others), axis=0)
        held = same & others_move
        held[0] = False
        spell = _persistent(checkpoints, held.tolist())
        if spell is None:
            continue
        start, end, ongoing = spell
        findings.append(
            Finding(
                kind="frozen_layer",
                severity="warning" if ongoing else "info",
                layer=layer,
                step=start,
                last_step=end,
                message=(
                    f"{layer}: its weights have not changed since step {start} while other layers' did "
                    "(left out of the optimizer, or requires_grad=False?)"
                    + ("" if ongoing else f"; they changed again after step {end}")
                ),
                evidence={"unchanged_checkpoints": int(held.sum()), "persist": PERSIST},
                view="dynamics",
                selection={"layer": layer, "step": end, "stat": "norm", "source": "weights"},
            )
        )
    return findings


def _per_layer_statistic(
    evidence: RunEvidence,
    kind: str,
    source: str,
    statistic: str,
    threshold: float,
    describe: Callable[[str, float, int], str],
    evidence_key: str,
) -> list[Finding]:
    """A per-step statistic at or above ``threshold`` at ``PERSIST`` consecutive checkpoints, per layer."""
    checkpoints = list(evidence.checkpoints)
    findings: list[Finding] = []
    for layer in evidence.layers:
        stats = evidence.statistics.get(layer)
        if stats is None or stats.rows.shape[2] <= metadata.STATISTIC_NAMES.index(statistic):
            continue
        steps, values = stats.series(source, statistic)
        finite = np.isfinite(values)
        at = _at_checkpoints(steps[finite], values[finite], checkpoints)
        spell = _persistent(checkpoints, (np.isfinite(at) & (at >= threshold)).tolist())
        if spell is None:
            continue
        start, end, ongoing = spell
        value = float(at[checkpoints.index(end)])
        findings.append(
            Finding(
                kind=kind,
                severity="warning" if ongoing else "info",
                layer=layer,
                step=start,
                last_step=end,
                message=describe(layer, value, start) + ("" if ongoing else f"; no longer after step {end}"),
                evidence={evidence_key: value, "threshold": threshold},
                view="dynamics",
                selection={"layer": layer, "step": end, "stat": statistic, "source": source},
            )
        )
    return findings


def saturated_units(evidence: RunEvidence) -> list[Finding]:
    """Layers whose outputs pin the tanh, sigmoid or hardtanh after them near its bounds."""
    return _per_layer_statistic(
        evidence,
        "saturated_units",
        "activations",
        "saturation",
        SATURATED_SHARE,
        lambda layer, share, start: (
            f"{layer}: {share:.0%} of its outputs saturate the bounded activation after it since step {start}"
        ),
        "saturated_share",
    )


def unstable_updates(evidence: RunEvidence) -> list[Finding]:
    """Layers whose weights move by far more than the usual ~1e-3 of their norm per step."""
    return _per_layer_statistic(
        evidence,
        "unstable_updates",
        "weights",
        "update_ratio",
        UNSTABLE_UPDATE_RATIO,
        lambda layer, ratio, start: (
            f"{layer}: one step changes its weights by {ratio:.2g} of their norm since step {start} "
            "(about 0.001 is usual: is the learning rate too high?)"
        ),
        "update_ratio",
    )


def confused_classes(evidence: RunEvidence) -> list[Finding]:
    """Class pairs that take a large share of a true class's row and keep it over checkpoints.

    When both directions do, the labels of the two classes may be swapped.
    """
    if evidence.confusion is None:
        return []
    steps, counts = evidence.confusion
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 3 or counts.shape[0] == 0:
        return []
    rows = counts.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(rows > 0, counts / rows, 0.0)  # [C, K, K]
    classes = counts.shape[1]
    step_list = [int(step) for step in steps]
    # A column that takes most other classes' rows is a collapse onto one class (not_learning says
    # so), not a pair.
    off_diagonal = shares * (1 - np.eye(classes))[None]
    collapsed = (off_diagonal >= CONFUSED_SHARE).sum(axis=1) >= max(3, int(np.ceil((classes - 1) / 2)))  # [C, K]
    findings: list[Finding] = []
    reported: set[tuple[int, int]] = set()
    name = evidence.class_name
    for a in range(classes):
        for b in range(classes):
            if a == b or (b, a) in reported:
                continue
            forward = (shares[:, a, b] >= CONFUSED_SHARE) & ~collapsed[:, b]
            spell = _persistent(step_list, forward.tolist())
            if spell is None:
                continue
            start, end, ongoing = spell
            index = step_list.index(end)
            backward = _persistent(step_list, ((shares[:, b, a] >= CONFUSED_SHARE) & ~collapsed[:, a]).tolist())
            swapped = backward is not None and backward[2] and ongoing
            reported.add((a, b))
            message = f"{shares[index, a, b]:.0%} of {name(a)} is predicted as {name(b)} since step {start}"
            if swapped:
                message += f", and {shares[index, b, a]:.0%} of {name(b)} as {name(a)}: the labels may be swapped"
            if not ongoing:
                message += f"; resolved after step {end}"
            findings.append(
                Finding(
                    kind="confused_classes",
                    severity="warning" if ongoing else "info",
                    layer=None,
                    step=start,
                    last_step=end,
                    message=message,
                    evidence={
                        "classes": [a, b],
                        "share": float(shares[index, a, b]),
                        "reverse_share": float(shares[index, b, a]),
                        "swapped": swapped,
                        "threshold": CONFUSED_SHARE,
                    },
                    view="confusion",
                    selection={"step": end, "cell": [a, b]},
                )
            )
    return findings


def not_learning(evidence: RunEvidence) -> list[Finding]:
    """Accuracy near chance over several checkpoints."""
    if evidence.confusion is None:
        return []
    steps, counts = evidence.confusion
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 3 or counts.shape[0] <= PERSIST:
        return []
    classes = counts.shape[1]
    totals = counts.sum(axis=(1, 2))
    accuracy = np.where(totals > 0, np.trace(counts, axis1=1, axis2=2) / np.maximum(totals, 1), np.nan)
    chance = 1.0 / classes
    near_chance = accuracy <= CHANCE_FACTOR * chance
    near_chance[0] = False  # the untrained network is at chance by design
    step_list = [int(step) for step in steps]
    spell = _persistent(step_list, near_chance.tolist())
    if spell is None:
        return []
    start, end, ongoing = spell
    index = step_list.index(end)
    predicted = counts[index].sum(axis=0)
    favourite = int(predicted.argmax())
    one_class = predicted[favourite] >= 0.9 * predicted.sum() and predicted.sum() > 0
    collapse = f"; it predicts {evidence.class_name(favourite)} for almost every image" if one_class else ""
    return [
        Finding(
            kind="not_learning",
            severity="warning" if ongoing else "info",
            layer=None,
            step=start,
            last_step=end,
            message=(
                f"accuracy is {accuracy[index]:.1%} at step {end}, near chance ({chance:.1%}) since step {start}"
                + (collapse if ongoing else "; it learned after that")
            ),
            evidence={
                "accuracy": float(accuracy[index]),
                "chance": chance,
                "factor": CHANCE_FACTOR,
                "predicted_class": favourite if one_class else None,
            },
            view="confusion",
            selection={"step": end},
        )
    ]


def input_scale(evidence: RunEvidence) -> list[Finding]:
    """Eval images far from normalized: 0..255 pixel values, or a mean far from zero."""
    stats = evidence.eval_inputs
    if not stats:
        return []
    mean, std = float(stats.get("mean", 0.0)), float(stats.get("std", 1.0))
    magnitude = max(abs(float(stats.get("min", 0.0))), abs(float(stats.get("max", 0.0))))
    problems = []
    if magnitude > INPUT_MAGNITUDE_LIMIT:
        problems.append(f"values reach {magnitude:.4g}")
    if abs(mean) > INPUT_MEAN_LIMIT:
        problems.append(f"the mean is {mean:.4g}")
    if std > INPUT_STD_LIMIT:
        problems.append(f"the standard deviation is {std:.4g}")
    if not problems:
        return []
    first = int(evidence.checkpoints[0]) if evidence.checkpoints else 0
    last = int(evidence.checkpoints[-1]) if evidence.checkpoints else 0
    hint = " (0..255 pixel values?)" if 100 < magnitude <= 256 else ""
    return [
        Finding(
            kind="input_scale",
            severity="warning",
            layer=None,
            step=first,
            last_step=last,
            message=f"the eval images are far from normalized: {', '.join(problems)}{hint}",
            evidence={
                **{key: float(value) for key, value in stats.items()},
                "limits": {"mean": INPUT_MEAN_LIMIT, "std": INPUT_STD_LIMIT, "magnitude": INPUT_MAGNITUDE_LIMIT},
            },
            view="filters",
            selection={"step": first},
        )
    ]


# Lead-lag: a statistic "leaves its usual band" when its log10 moves more than this many robust
# deviations (MAD) from its median over the baseline, the first half of the steps before the event,
# and stays out for LEAD_PERSIST consecutive logged steps.
LEAD_BAND_MADS = 6.0
LEAD_MIN_BAND = 0.05  # log10 units: about 12%, so a flat series does not call every wiggle a departure
LEAD_PERSIST = 3
_LEAD_SERIES = (("weights", "norm"), ("gradients", "norm"), ("activations", "norm"), ("activations", "max"))


def lead_lag(evidence: RunEvidence, event_step: int) -> list[dict[str, Any]]:
    """Layers ranked by how long before ``event_step`` their statistics left their own usual band.

    The automated form of descending from the snapshot where something broke to the layer where
    it started: the layer whose numbers drifted first is the likeliest root. Only layers that left
    their band before the event are listed, earliest first.

    Returns:
      ``[{"layer", "source", "statistic", "left_band_at", "lead_steps"}]``.
    """
    ranked: list[dict[str, Any]] = []
    for order, layer in enumerate(evidence.layers):
        stats = evidence.statistics.get(layer)
        if stats is None:
            continue
        best: Optional[dict[str, Any]] = None
        for source, statistic in _LEAD_SERIES:
            steps, values = stats.series(source, statistic)
            before = steps < event_step
            steps, values = steps[before], values[before]
            finite = np.isfinite(values)
            steps, values = steps[finite], np.log10(np.abs(values[finite]) + 1e-12)
            if len(values) < 2 * LEAD_PERSIST + 2:
                continue
            baseline = values[: len(values) // 2]
            median = float(np.median(baseline))
            spread = max(LEAD_BAND_MADS * float(np.median(np.abs(baseline - median))), LEAD_MIN_BAND)
            outside = np.abs(values - median) > spread
            outside[: len(baseline)] = False
            for index in range(len(values) - LEAD_PERSIST + 1):
                if outside[index : index + LEAD_PERSIST].all():
                    departure = int(steps[index])
                    if best is None or departure < best["left_band_at"]:
                        best = {
                            "layer": layer,
                            "source": source,
                            "statistic": statistic,
                            "left_band_at": departure,
                            "lead_steps": int(event_step) - departure,
                            "_order": order,
                        }
                    break
        if best is not None:
            ranked.append(best)
    ranked.sort(key=lambda entry: (entry["left_band_at"], entry["_order"]))
    for entry in ranked:
        del entry["_order"]
    return ranked


def _number(value: float) -> Optional[float]:
    """A JSON-safe number: None for NaN or Inf."""
    return float(value) if np.isfinite(value) else None


RULES: tuple[Callable[[RunEvidence], list[Finding]], ...] = (
    nan_inf,
    gradient_norms,
    dead_units,
    saturated_units,
    frozen_layers,
    unstable_updates,
    confused_classes,
    not_learning,
    input_scale,
)
