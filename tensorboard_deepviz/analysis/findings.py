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
(mean |a| > 0.95 of a bounded activation's range); the update-to-weight ratio's usual ~1e-3 is the
rule of thumb of Karpathy's CS231n notes ("Babysitting the learning process").

The loss, when the user passes it to ``log_step``, is read too: a NaN/Inf loss is a ``nan_inf``
finding, and a loss that jumps far above its own recent band is a *loss spike*
(``loss_spikes``). Spikes are not findings: the findings' kinds are a fixed list, so the route
answers them in a field of their own, each with the lead-lag ranking of the layers whose
statistics left their usual band first.
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
# Consecutive checkpoints a confused pair must hold: more than PERSIST, since a decision boundary
# still moving flips a similar pair back and forth for a few checkpoints (a healthy shapes run held
# 78%, 42%, 81% of red circles as red squares at its last three, after 3% and 31%), while swapped
# or mislabeled classes stay confused for as long as training runs.
CONFUSED_PERSIST = 5
# Accuracy within this many times chance (1 / classes), at several checkpoints, is not learning.
CHANCE_FACTOR = 1.5
# Share of a layer's outputs that saturate the bounded activation after it (within 1% of its
# bounds, where its gradient vanishes). DLCheck's rule is mean |a| > 0.95 of the range; ours
# counts outputs, so half of them pinned is the warning.
SATURATED_SHARE = 0.5
# Update ratio ||dW|| / ||W|| of one step: about 1e-3 is usual (CS231n); 100 times that is unstable.
# Judged on the median over the steps logged since the previous checkpoint: the ratio of one
# step is noisy (a BatchNorm network's weights swing by several times from step to step).
UNSTABLE_UPDATE_RATIO = 0.1
# Images this far from normalized: |mean| or std beyond these, or values beyond this magnitude.
INPUT_MEAN_LIMIT = 5.0
INPUT_STD_LIMIT = 10.0
INPUT_MAGNITUDE_LIMIT = 50.0
# Training inputs and eval images whose standard deviations differ by this factor (either way) are
# not preprocessed alike (0..255 against normalized is about 60 to 250 times).
INPUT_MISMATCH_RATIO = 10.0
# A loss spike: at LOSS_SPIKE_PERSIST consecutive logged steps the loss is above every loss of the
# LOSS_SPIKE_WINDOW steps before and LOSS_SPIKE_FACTOR times their median (at least
# LOSS_SPIKE_MIN_WINDOW of them). One hard batch is one step, not a spike.
LOSS_SPIKE_WINDOW = 50
LOSS_SPIKE_MIN_WINDOW = 20
# 3: a healthy run's batch-64 loss held twice its median over 3 steps late in training (RESULTS.md).
LOSS_SPIKE_FACTOR = 3.0
LOSS_SPIKE_PERSIST = 3
# The most spikes an answer lists (the earliest: later ones tend to follow from the first).
LOSS_SPIKES_LISTED = 5

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
      training_inputs: ``(steps [T], rows [T, len(INPUT_STATISTIC_NAMES)])``: statistics of the
        first logged layer's input in the training forward pass, or None (older logs).
      loss: ``(steps [T], loss [T])`` the user passed to ``log_step``, or None.
    """

    layers: Sequence[str]
    statistics: dict[str, LayerStatistics]
    checkpoints: Sequence[int]
    confusion: Optional[tuple[np.ndarray, np.ndarray]] = None
    dead_units: dict[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)
    eval_inputs: Optional[dict[str, float]] = None
    class_names: Sequence[str] = ()
    judged_for_dead_units: Optional[frozenset[str]] = None
    training_inputs: Optional[tuple[np.ndarray, np.ndarray]] = None
    loss: Optional[tuple[np.ndarray, np.ndarray]] = None

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


def _interval_medians(steps: np.ndarray, values: np.ndarray, checkpoints: Sequence[int]) -> np.ndarray:
    """The median of the finite values logged since the previous checkpoint, at each checkpoint.

    The first checkpoint takes the values logged at or before it. NaN where none was logged.
    """
    finite = np.isfinite(values)
    steps, values = np.asarray(steps)[finite], np.asarray(values, dtype=np.float64)[finite]
    result = np.full(len(checkpoints), np.nan)
    if not len(checkpoints) or not len(values):
        return result
    # Each value's interval: the first checkpoint at or after its step (values after the last are left out).
    group = np.searchsorted(np.asarray(checkpoints), steps, side="left")
    kept = group < len(checkpoints)
    group, values = group[kept], values[kept]
    order = np.lexsort((values, group))  # by interval, then value
    group, values = group[order], values[order]
    counts = np.bincount(group, minlength=len(checkpoints))
    starts = np.cumsum(counts) - counts
    present = counts > 0
    low = starts[present] + (counts[present] - 1) // 2
    high = starts[present] + counts[present] // 2
    result[present] = (values[low] + values[high]) / 2
    return result


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
    loss_step = _first_nonfinite_loss(evidence)
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
        return [] if loss_step is None else [_nan_inf_loss(evidence, loss_step)]
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
    # The loss comes after the forward pass and before the backward one: a loss bad at an earlier
    # step, or at the same step when no output was bad (only gradients and weights), came first.
    if loss_step is not None and (loss_step < step or (loss_step == step and source != "activations")):
        return [_nan_inf_loss(evidence, loss_step)]
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


def _first_nonfinite_loss(evidence: RunEvidence) -> Optional[int]:
    if evidence.loss is None:
        return None
    steps, values = evidence.loss
    bad = np.nonzero(~np.isfinite(np.asarray(values, dtype=np.float64)))[0]
    return int(steps[bad[0]]) if len(bad) else None


def _nan_inf_loss(evidence: RunEvidence, step: int) -> Finding:
    """The NaN/Inf finding when the loss turned bad first: the loss function itself, not a layer."""
    steps, values = evidence.loss  # type: ignore[misc]  # only called when there is a loss
    value = float(np.asarray(values, dtype=np.float64)[list(steps).index(step)])
    last = int(steps[-1])
    return Finding(
        kind="nan_inf",
        severity="error",
        layer=None,
        step=step,
        last_step=last,
        message=(
            f"the loss was {value} at step {step}, before any logged layer's weights, gradients or outputs "
            "held NaN or Inf (the loss function itself: log of 0, a division by 0?)"
        ),
        evidence={"source": "loss", "loss": str(value), "lead_lag": lead_lag(evidence, step)},
        view="dynamics",
        selection={"step": step},
    )


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
    over_interval: bool = False,
) -> list[Finding]:
    """A per-step statistic at or above ``threshold`` at ``PERSIST`` consecutive checkpoints, per layer.

    The value at a checkpoint is the one logged at or just before it, or with ``over_interval``
    the median of those logged since the previous checkpoint (for a statistic noisy from step to
    step).
    """
    checkpoints = list(evidence.checkpoints)
    findings: list[Finding] = []
    for layer in evidence.layers:
        stats = evidence.statistics.get(layer)
        if stats is None or stats.rows.shape[2] <= metadata.STATISTIC_NAMES.index(statistic):
            continue
        steps, values = stats.series(source, statistic)
        finite = np.isfinite(values)
        if over_interval:
            at = _interval_medians(steps, values, checkpoints)
        else:
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
    """Layers whose weights move by far more than the usual ~1e-3 of their norm per step.

    Judged on the median ratio between checkpoints, so one large step (the first steps after
    initialization, a warm restart) is not a finding, while weights that swing back and forth by
    a large share of their norm at most steps are.
    """
    return _per_layer_statistic(
        evidence,
        "unstable_updates",
        "weights",
        "update_ratio",
        UNSTABLE_UPDATE_RATIO,
        lambda layer, ratio, start: (
            f"{layer}: a training step changes its weights by {ratio:.2g} of their norm (median) since step {start} "
            "(about 0.001 is usual: is the learning rate too high?)"
        ),
        "update_ratio",
        over_interval=True,
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
            spell = _persistent(step_list, forward.tolist(), CONFUSED_PERSIST)
            if spell is None:
                continue
            start, end, ongoing = spell
            index = step_list.index(end)
            backward_held = (shares[:, b, a] >= CONFUSED_SHARE) & ~collapsed[:, a]
            backward = _persistent(step_list, backward_held.tolist(), CONFUSED_PERSIST)
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


def _scale_problems(mean: float, std: float, magnitude: float) -> list[str]:
    """What is far from normalized in inputs with these statistics (empty when nothing is)."""
    problems = []
    if magnitude > INPUT_MAGNITUDE_LIMIT:
        problems.append(f"values reach {magnitude:.4g}")
    if abs(mean) > INPUT_MEAN_LIMIT:
        problems.append(f"the mean is {mean:.4g}")
    if std > INPUT_STD_LIMIT:
        problems.append(f"the standard deviation is {std:.4g}")
    return problems


def _byte_hint(magnitude: float) -> str:
    return " (0..255 pixel values?)" if 100 < magnitude <= 256 else ""


def _mismatched(std_a: float, std_b: float) -> bool:
    """Standard deviations that differ by INPUT_MISMATCH_RATIO or more, either way."""
    if not (np.isfinite(std_a) and np.isfinite(std_b)) or min(std_a, std_b) <= 0:
        return False
    return max(std_a, std_b) / min(std_a, std_b) >= INPUT_MISMATCH_RATIO


_INPUT_LIMITS = {"mean": INPUT_MEAN_LIMIT, "std": INPUT_STD_LIMIT, "magnitude": INPUT_MAGNITUDE_LIMIT}


def input_scale(evidence: RunEvidence) -> list[Finding]:
    """Inputs far from normalized: the eval images, and the first layer's input during training.

    The eval images are judged once (they do not change). The training inputs (when the log has
    them) are judged at each checkpoint on the median of the statistics logged since the
    previous one, and must stay off for ``PERSIST`` checkpoints. Training inputs and eval images
    on different scales (0..255 against normalized, either way round) are found even when one
    side alone looks fine: the model is evaluated on data it was not trained on.
    """
    checkpoints = list(evidence.checkpoints)
    first = int(checkpoints[0]) if checkpoints else 0
    last = int(checkpoints[-1]) if checkpoints else 0
    training = _training_input_scale(evidence, checkpoints)  # (std at each checkpoint, findings)
    training_std = training[0]
    typical_training_std = float(np.nanmedian(training_std)) if np.isfinite(training_std).any() else float("nan")
    findings = list(training[1])
    stats = evidence.eval_inputs
    if not stats:
        return findings
    mean, std = float(stats.get("mean", 0.0)), float(stats.get("std", 1.0))
    magnitude = max(abs(float(stats.get("min", 0.0))), abs(float(stats.get("max", 0.0))))
    problems = _scale_problems(mean, std, magnitude)
    mismatch = _mismatched(std, typical_training_std)
    if not problems and not (mismatch and not findings):
        return findings
    if problems:
        message = f"the eval images are far from normalized: {', '.join(problems)}{_byte_hint(magnitude)}"
    else:
        message = f"the eval images' standard deviation is {std:.3g}"
    if mismatch:
        message += (
            f", while the first layer's input during training has {typical_training_std:.3g}: "
            "the eval images are not preprocessed like the training images"
        )
    findings.append(
        Finding(
            kind="input_scale",
            severity="warning",
            layer=None,
            step=first,
            last_step=last,
            message=message,
            evidence={
                **{key: float(value) for key, value in stats.items()},
                "training_std": _number(typical_training_std),
                "limits": {**_INPUT_LIMITS, "mismatch_ratio": INPUT_MISMATCH_RATIO},
            },
            view="filters",
            selection={"step": first},
        )
    )
    return findings


def _training_input_scale(evidence: RunEvidence, checkpoints: list[int]) -> tuple[np.ndarray, list[Finding]]:
    """The training inputs' std at each checkpoint, and the input_scale finding about them (if any)."""
    if evidence.training_inputs is None or not checkpoints or not evidence.layers:
        return np.full(len(checkpoints), np.nan), []
    steps, rows = evidence.training_inputs
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != len(metadata.INPUT_STATISTIC_NAMES) or not len(steps):
        return np.full(len(checkpoints), np.nan), []
    column = {
        name: rows[:, metadata.INPUT_STATISTIC_NAMES.index(name)] for name in ("count", "mean", "std", "min", "max")
    }
    present = column["count"] > 0
    steps = np.asarray(steps)[present]

    def at(name: str) -> np.ndarray:
        return _interval_medians(steps, column[name][present], checkpoints)

    mean, std = at("mean"), at("std")
    magnitude = np.fmax(np.abs(at("min")), np.abs(at("max")))
    eval_inputs = evidence.eval_inputs or {}
    eval_std = float(eval_inputs.get("std", np.nan))
    eval_magnitude = max(abs(float(eval_inputs.get("min", 0.0))), abs(float(eval_inputs.get("max", 0.0))))
    # When the eval images are the ones off scale, their own finding says so (naming the mismatch).
    eval_off = bool(eval_inputs) and bool(
        _scale_problems(float(eval_inputs.get("mean", 0.0)), eval_std, eval_magnitude)
    )
    problems = [_scale_problems(mean[i], std[i], magnitude[i]) for i in range(len(checkpoints))]
    mismatch = [not eval_off and _mismatched(std[i], eval_std) for i in range(len(checkpoints))]
    held = [bool(problems[i]) or mismatch[i] for i in range(len(checkpoints))]
    spell = _persistent(checkpoints, held)
    if spell is None:
        return std, []
    start, end, ongoing = spell
    index = checkpoints.index(end)
    layer = evidence.layers[0]
    if problems[index]:
        message = (
            f"{layer}: its input during training is far from normalized since step {start}: "
            f"{', '.join(problems[index])}{_byte_hint(magnitude[index])}"
        )
    else:
        message = f"{layer}: its input during training has a standard deviation of {std[index]:.3g} since step {start}"
    if mismatch[index]:
        message += f", while the eval images' is {eval_std:.3g}: training and eval images are not preprocessed alike"
    if not ongoing:
        message += f"; no longer after step {end}"
    finding = Finding(
        kind="input_scale",
        severity="warning" if ongoing else "info",
        layer=layer,
        step=start,
        last_step=end,
        message=message,
        evidence={
            "source": "training",
            "mean": _number(mean[index]),
            "std": _number(std[index]),
            "magnitude": _number(magnitude[index]),
            "eval_std": _number(eval_std),
            "limits": {**_INPUT_LIMITS, "mismatch_ratio": INPUT_MISMATCH_RATIO},
        },
        view="dynamics",
        selection={"layer": layer, "step": end, "stat": "max", "source": "activations"},
    )
    return std, [finding]


# Lead-lag: a statistic "leaves its usual band" when its log10 moves more than LEAD_BAND_MADS robust
# deviations (MAD) from its median over the LEAD_WINDOW logged steps before (at least
# LEAD_MIN_WINDOW of them), and stays out for LEAD_PERSIST consecutive logged steps. A band of its
# own recent past, so a layer that changes steadily as it learns stays inside it.
LEAD_BAND_MADS = 6.0
LEAD_MIN_BAND = 0.3  # log10 units: a factor 2, so a flat series or a layer that learns is not a departure
LEAD_PERSIST = 3
LEAD_WINDOW = 20
LEAD_MIN_WINDOW = 10
# How far back a departure is looked for: LEAD_CHECKPOINTS checkpoints before the event, and at most
# LEAD_HORIZON logged steps (bounds the work on long logs).
LEAD_CHECKPOINTS = 4
LEAD_HORIZON = 1000
_LEAD_SERIES = (
    ("weights", "norm"),
    ("weights", "update_ratio"),
    ("gradients", "norm"),
    ("activations", "norm"),
    ("activations", "max"),
)


def lead_lag(evidence: RunEvidence, event_step: int) -> list[dict[str, Any]]:
    """Layers ranked by how long before ``event_step`` their statistics left their own usual band.

    The automated form of descending from the snapshot where something broke to the layer where
    it started: the layer whose numbers drifted first is the likeliest root. A layer is listed
    when one of its statistics is out of its band at the event (its last finite value at or before
    it) and has been since some step, without coming back: that step is its departure. Earliest
    departures first (the layers' forward order breaks ties). A departure must last
    ``LEAD_PERSIST`` logged steps, which may run past the event (a learning-rate jump moves a
    layer one step before the loss it spikes).

    Returns:
      ``[{"layer", "source", "statistic", "left_band_at", "lead_steps"}]``.
    """
    # How far back: LEAD_CHECKPOINTS checkpoints before the event (a run learns, and its statistics
    # move, long before; what moved just before the event is what caused it).
    before = [step for step in evidence.checkpoints if step < event_step]
    since = int(before[-LEAD_CHECKPOINTS]) if len(before) >= LEAD_CHECKPOINTS else 0
    ranked: list[dict[str, Any]] = []
    for order, layer in enumerate(evidence.layers):
        stats = evidence.statistics.get(layer)
        if stats is None:
            continue
        # Only the steps a departure can use: the band before ``since``, up to just past the event.
        low = max(0, int(np.searchsorted(stats.steps, since)) - 2 * LEAD_WINDOW) if since > 0 else 0
        high = int(np.searchsorted(stats.steps, event_step, side="right")) + LEAD_PERSIST
        nearby = LayerStatistics(stats.steps[low:high], stats.rows[low:high])
        best: Optional[dict[str, Any]] = None
        for source, statistic in _LEAD_SERIES:
            if stats.rows.shape[2] <= metadata.STATISTIC_NAMES.index(statistic):
                continue
            steps, values = nearby.series(source, statistic)
            finite = np.isfinite(values)
            departure = _departure(steps[finite], np.log10(np.abs(values[finite]) + 1e-12), event_step, since)
            if departure is not None and (best is None or departure < best["left_band_at"]):
                best = {
                    "layer": layer,
                    "source": source,
                    "statistic": statistic,
                    "left_band_at": departure,
                    "lead_steps": int(event_step) - departure,
                    "_order": order,
                }
        if best is not None:
            ranked.append(best)
    ranked.sort(key=lambda entry: (entry["left_band_at"], entry["_order"]))
    for entry in ranked:
        del entry["_order"]
    return ranked


def _departure(steps: np.ndarray, values: np.ndarray, event_step: int, since: int) -> Optional[int]:
    """Where ``values`` (log10) last left the band they had before, as of ``event_step``; None if they did not.

    Index ``d`` is a departure when ``values[d]`` and every value after it up to the event (at
    least ``LEAD_PERSIST`` of them where the log has them) lie on one side out of the band of the
    ``LEAD_WINDOW`` values before ``d``. Of the latest run of such indices at or after step
    ``since``, its first step: when the statistic left its band and stayed out.
    """
    event = int(np.searchsorted(steps, event_step, side="right")) - 1
    first = max(LEAD_MIN_WINDOW, int(np.searchsorted(steps, since, side="left")), event - LEAD_HORIZON)
    if event < first:
        return None
    candidates = np.arange(first, event + 1)
    medians, spreads = np.empty(len(candidates)), np.empty(len(candidates))
    short = candidates < LEAD_WINDOW
    for position, index in enumerate(candidates[short]):  # windows still short
        medians[position], spreads[position] = _band(values[:index])
    if (~short).any():
        low = int(candidates[~short][0])
        windows = np.lib.stride_tricks.sliding_window_view(values[low - LEAD_WINDOW : event], LEAD_WINDOW)
        medians[~short] = np.median(windows, axis=1)
        deviations = np.median(np.abs(windows - medians[~short][:, None]), axis=1)
        spreads[~short] = np.maximum(LEAD_BAND_MADS * deviations, LEAD_MIN_BAND)
    # From each candidate, the lowest and highest value it must keep out of its band: to the event
    # (suffix extremes), and for the last few on to LEAD_PERSIST values where the log has them.
    tail = values[first : event + 1]
    lowest = np.minimum.accumulate(tail[::-1])[::-1]
    highest = np.maximum.accumulate(tail[::-1])[::-1]
    for position in range(max(0, len(candidates) - LEAD_PERSIST + 1), len(candidates)):
        beyond = values[event + 1 : min(len(values), candidates[position] + LEAD_PERSIST)]
        if len(beyond):
            lowest[position] = min(lowest[position], float(beyond.min()))
            highest[position] = max(highest[position], float(beyond.max()))
    departed = (lowest > medians + spreads) | (highest < medians - spreads)
    if not departed.any():
        return None
    last = int(np.nonzero(departed)[0][-1])
    start = last
    while start > 0 and departed[start - 1]:
        start -= 1
    return int(steps[candidates[start]])


def _band(window: np.ndarray) -> tuple[float, float]:
    """The median of ``window`` and how far from it a value is out of the band."""
    median = float(np.median(window))
    return median, max(LEAD_BAND_MADS * float(np.median(np.abs(window - median))), LEAD_MIN_BAND)


@dataclasses.dataclass(frozen=True)
class LossSpike:
    """The loss jumping far above its own recent band.

    Attributes:
      step: the first step above the band; ``last_step``: the last before it came back (or the
        last logged step, ``recovered`` False).
      loss: the loss at ``step``; ``peak``: the highest loss during the spike.
      median: the median loss of the window before it; ``threshold``: the band's top (the most of
        the window's losses and ``LOSS_SPIKE_FACTOR`` times its median).
      message: one plain sentence. ``lead_lag``: the layers whose statistics left their band
        first (``lead_lag``).
    """

    step: int
    last_step: int
    loss: float
    peak: float
    median: float
    threshold: float
    recovered: bool
    message: str
    lead_lag: list[dict[str, Any]]


def loss_spikes(evidence: RunEvidence) -> list[LossSpike]:
    """The loss's spikes, earliest first (at most ``LOSS_SPIKES_LISTED``); NaN/Inf is ``nan_inf``'s.

    A spike starts where the loss stays above the band of the ``LOSS_SPIKE_WINDOW`` logged steps
    before it (above all of them, and ``LOSS_SPIKE_FACTOR`` times their median) for
    ``LOSS_SPIKE_PERSIST`` consecutive steps, and lasts until the loss is back under that band.
    """
    if evidence.loss is None:
        return []
    steps, values = (np.asarray(array) for array in evidence.loss)
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    # Up to the first NaN/Inf: what follows it is the flood.
    end = int(np.argmin(finite)) if not finite.all() else len(values)
    steps, values = steps[:end], values[:end]
    spikes: list[LossSpike] = []
    if len(values) < LOSS_SPIKE_MIN_WINDOW + LOSS_SPIKE_PERSIST:
        return spikes
    medians, thresholds = _loss_bands(values)
    # starts[i]: the loss stays above the band of the window before step i for LOSS_SPIKE_PERSIST steps.
    count = len(values) - LOSS_SPIKE_PERSIST + 1
    starts = np.ones(count, dtype=bool)
    starts[:LOSS_SPIKE_MIN_WINDOW] = False
    for offset in range(LOSS_SPIKE_PERSIST):
        starts &= values[offset : offset + count] > thresholds[:count]
    index = 0
    while len(spikes) < LOSS_SPIKES_LISTED:
        candidates = np.nonzero(starts[index:])[0]
        if not len(candidates):
            break
        index += int(candidates[0])
        median, threshold = float(medians[index]), float(thresholds[index])
        stop = index
        while stop < len(values) and values[stop] > threshold:
            stop += 1
        recovered = stop < len(values)
        step, last = int(steps[index]), int(steps[stop - 1])
        peak = float(values[index:stop].max())
        times = f", {values[index] / median:.3g} times its recent median ({median:.3g})" if median > 0 else ""
        message = f"the loss jumped to {values[index]:.3g} at step {step}{times}" + (
            f"; back under {threshold:.3g} at step {int(steps[stop])}" if recovered else ", and has not come back"
        )
        spikes.append(
            LossSpike(
                step, last, float(values[index]), peak, median, threshold, recovered, message, lead_lag(evidence, step)
            )
        )
        index = stop + LOSS_SPIKE_MIN_WINDOW  # a fresh band after it
    return spikes


def _loss_bands(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the median of the ``LOSS_SPIKE_WINDOW`` losses before it and the band's top (NaN too early)."""
    medians = np.full(len(values), np.nan)
    tops = np.full(len(values), np.nan)
    for index in range(LOSS_SPIKE_MIN_WINDOW, min(LOSS_SPIKE_WINDOW, len(values))):  # windows still short
        medians[index], tops[index] = np.median(values[:index]), values[:index].max()
    if len(values) > LOSS_SPIKE_WINDOW:
        windows = np.lib.stride_tricks.sliding_window_view(values[:-1], LOSS_SPIKE_WINDOW)
        medians[LOSS_SPIKE_WINDOW:] = np.median(windows, axis=1)
        tops[LOSS_SPIKE_WINDOW:] = windows.max(axis=1)
    return medians, np.fmax(tops, LOSS_SPIKE_FACTOR * medians)


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
