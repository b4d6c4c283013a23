"""Findings rules on runs whose answer is known by construction: planted faults, and healthy runs that stay quiet."""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import pytest

from tensorboard_deepviz.analysis import findings
from tensorboard_deepviz.analysis.findings import LayerStatistics, RunEvidence
from tensorboard_deepviz.contract import metadata

LAYERS = ["conv1", "conv2", "fc"]
STEPS = np.arange(0, 100, 10)  # statistics every 10 steps
CHECKPOINTS = list(range(0, 100, 10))
S = {name: i for i, name in enumerate(metadata.STATISTIC_NAMES)}
SOURCES = {name: i for i, name in enumerate(metadata.STATISTIC_SOURCES)}


def healthy_statistics(layer_index: int, *, seed: int = 0) -> LayerStatistics:
    """Weights that move a little every step, gradient norms of one order of magnitude, no NaN."""
    rng = np.random.default_rng(seed + layer_index)
    rows = np.zeros((len(STEPS), len(SOURCES), len(S)))
    for source in SOURCES.values():
        rows[:, source, S["count"]] = 1000
        rows[:, source, S["mean"]] = rng.normal(0, 0.01, len(STEPS))
        rows[:, source, S["std"]] = 0.1 + rng.uniform(0, 0.01, len(STEPS))
        rows[:, source, S["min"]] = -0.5 + rng.uniform(0, 0.01, len(STEPS))
        rows[:, source, S["max"]] = 0.5 + rng.uniform(0, 0.01, len(STEPS))
    rows[:, SOURCES["weights"], S["norm"]] = 3.0 + np.cumsum(rng.uniform(0.001, 0.01, len(STEPS)))
    rows[:, SOURCES["gradients"], S["norm"]] = rng.uniform(0.05, 0.5, len(STEPS))
    rows[:, SOURCES["activations"], S["norm"]] = rng.uniform(5, 10, len(STEPS))
    return LayerStatistics(STEPS.copy(), rows)


def learning_confusion(classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy rising from chance to 95%, errors spread over the other classes."""
    counts = np.zeros((len(CHECKPOINTS), classes, classes))
    for c, accuracy in enumerate(np.linspace(1 / classes, 0.95, len(CHECKPOINTS))):
        per_class = 100
        right = round(per_class * accuracy)
        counts[c] = (per_class - right) / (classes - 1)
        np.fill_diagonal(counts[c], right)
    return np.array(CHECKPOINTS), counts


def evidence(
    statistics: Optional[dict[str, LayerStatistics]] = None,
    confusion: Optional[tuple[np.ndarray, np.ndarray]] = None,
    dead: Optional[dict[str, tuple[np.ndarray, np.ndarray]]] = None,
    eval_inputs: Optional[dict[str, float]] = None,
) -> RunEvidence:
    return RunEvidence(
        layers=LAYERS,
        statistics=statistics or {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)},
        checkpoints=CHECKPOINTS,
        confusion=confusion if confusion is not None else learning_confusion(),
        dead_units=dead or {layer: (np.array(CHECKPOINTS), np.full(len(CHECKPOINTS), 0.02)) for layer in LAYERS},
        eval_inputs=eval_inputs or {"mean": 0.01, "std": 1.0, "min": -2.1, "max": 2.6},
    )


@pytest.mark.parametrize("seed", range(5))
def test_a_healthy_run_raises_nothing(seed):
    statistics = {layer: healthy_statistics(i, seed=seed) for i, layer in enumerate(LAYERS)}
    assert findings.find(evidence(statistics=statistics)) == []


def test_the_first_nan_is_found_at_its_step_and_root_layer_not_in_the_flood():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    # conv2's weights turn Inf at step 40; every layer's activations and conv1's gradients follow at 50.
    statistics["conv2"].rows[4:, SOURCES["weights"], S["inf_count"]] = 1
    for layer in LAYERS:
        statistics[layer].rows[5:, SOURCES["activations"], S["nan_count"]] = 7
    statistics["conv1"].rows[5:, SOURCES["gradients"], S["nan_count"]] = 3
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "nan_inf"]
    assert (found.severity, found.layer, found.step, found.last_step) == ("error", "conv2", 40, 90)
    assert found.evidence == {"source": "weights", "nan_count": 0, "inf_count": 1, "lead_lag": []}
    assert found.view == "dynamics" and found.selection["layer"] == "conv2"
    # Within a step, the order the step made them decides: outputs in forward order (the forward
    # pass), then gradients from the loss backwards, then the weights the update wrote.
    statistics["conv1"].rows[4, SOURCES["activations"], S["nan_count"]] = 1
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "nan_inf"]
    assert (found.layer, found.evidence["source"]) == ("conv1", "activations")


def test_a_nan_loss_shows_first_in_the_gradients_of_the_layer_nearest_it():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    for layer in LAYERS:  # the backward pass floods every gradient, the update every weight
        statistics[layer].rows[6:, SOURCES["gradients"], S["nan_count"]] = 10
        statistics[layer].rows[6:, SOURCES["weights"], S["nan_count"]] = 10
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "nan_inf"]
    assert (found.layer, found.step, found.evidence["source"]) == ("fc", 60, "gradients")


def test_vanishing_gradients_warn_once_the_ratio_stays_below_its_threshold():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    statistics["conv1"].rows[3:, SOURCES["gradients"], S["norm"]] = 1e-6  # from step 30 on
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "vanishing_gradients"]
    assert (found.severity, found.layer, found.step, found.last_step) == ("warning", "conv1", 30, 90)
    assert found.evidence["ratio"] < findings.VANISHING_RATIO


def test_exploding_gradients_and_a_spike_that_passes_is_only_information():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    statistics["conv1"].rows[2:, SOURCES["gradients"], S["norm"]] = 1e3
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "exploding_gradients"]
    assert (found.severity, found.step) == ("warning", 20)
    # Two checkpoints of large gradients: not persistent, no finding; three that end: resolved (info).
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    statistics["conv1"].rows[2:4, SOURCES["gradients"], S["norm"]] = 1e3
    assert not [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "exploding_gradients"]
    statistics["conv1"].rows[2:5, SOURCES["gradients"], S["norm"]] = 1e3
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "exploding_gradients"]
    assert (found.severity, found.step, found.last_step) == ("info", 20, 40)


def test_a_layer_whose_units_all_die_is_an_error_and_a_few_dead_units_are_information():
    dead = {layer: (np.array(CHECKPOINTS), np.full(len(CHECKPOINTS), 0.0)) for layer in LAYERS}
    dead["conv2"] = (np.array(CHECKPOINTS), np.where(np.array(CHECKPOINTS) >= 20, 1.0, 0.0))
    dead["conv1"] = (np.array(CHECKPOINTS), np.full(len(CHECKPOINTS), 0.2))
    # The last layer's outputs are logits, not rectified units: never positive is not dead.
    dead["fc"] = (np.array(CHECKPOINTS), np.full(len(CHECKPOINTS), 0.9))
    found = [f for f in findings.find(evidence(dead=dead)) if f.kind == "dead_units"]
    by_layer = {f.layer: f for f in found}
    assert (by_layer["conv2"].severity, by_layer["conv2"].step) == ("error", 20)
    assert by_layer["conv2"].message == "conv2: 100% of units never fire on the eval set since step 20"
    assert by_layer["conv1"].severity == "info"
    assert "fc" not in by_layer
    # Layers a normalization follows are not judged either (the route reads that from the graph).
    judged = dataclasses.replace(evidence(dead=dead), judged_for_dead_units=frozenset({"conv1"}))
    assert {f.layer for f in findings.find(judged) if f.kind == "dead_units"} == {"conv1"}


def test_a_layer_left_out_of_the_optimizer_is_frozen():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    weights = statistics["conv2"].rows[:, SOURCES["weights"]]
    weights[:] = weights[0]  # the same weights at every step
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "frozen_layer"]
    assert (found.severity, found.layer, found.step) == ("warning", "conv2", 10)
    # When every layer stops (training over), nothing is frozen "while others change".
    for layer in LAYERS:
        statistics[layer].rows[:, SOURCES["weights"]] = statistics[layer].rows[0, SOURCES["weights"]]
    assert not [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "frozen_layer"]


def test_two_classes_confused_both_ways_may_have_swapped_labels():
    steps, counts = learning_confusion()
    counts[:, 1, 1], counts[:, 1, 2] = 10, 80 + counts[:, 1, 2]
    counts[:, 2, 2], counts[:, 2, 1] = 10, 80 + counts[:, 2, 1]
    (found,) = [f for f in findings.find(evidence(confusion=(steps, counts))) if f.kind == "confused_classes"]
    assert found.evidence["classes"] == [1, 2] and found.evidence["swapped"] is True
    assert "labels may be swapped" in found.message and found.severity == "warning"
    assert found.view == "confusion" and found.selection["cell"] == [1, 2]


def test_early_confusion_that_training_resolves_is_information_only():
    steps, counts = learning_confusion()
    counts[:6, 0, 0], counts[:6, 0, 3] = 20, 60  # class 0 taken for class 3 at the first six checkpoints
    (found,) = [f for f in findings.find(evidence(confusion=(steps, counts))) if f.kind == "confused_classes"]
    assert (found.severity, found.step, found.last_step) == ("info", 0, 50)
    assert found.evidence["swapped"] is False


def test_a_pair_a_moving_decision_boundary_flips_back_and_forth_is_not_a_warning():
    # A healthy shapes run: red circles taken for red squares at 81%, 42%, 78% of its last three
    # checkpoints, after 3% and 31%: the boundary between two similar classes is still moving.
    steps, counts = learning_confusion()
    for checkpoint, share in zip(range(5, 10), (0.03, 0.31, 0.81, 0.42, 0.78)):
        counts[checkpoint, 0] = 0
        counts[checkpoint, 0, 3] = round(100 * share)
        counts[checkpoint, 0, 0] = 100 - round(100 * share)
    assert not [f for f in findings.find(evidence(confusion=(steps, counts))) if f.kind == "confused_classes"]
    counts[5:7, 0] = counts[9, 0]  # held at five checkpoints running: it persists
    (found,) = [f for f in findings.find(evidence(confusion=(steps, counts))) if f.kind == "confused_classes"]
    assert (found.severity, found.step, found.evidence["classes"]) == ("warning", 50, [0, 3])


def test_accuracy_stuck_at_chance_is_not_learning():
    steps, counts = learning_confusion()
    counts[:] = counts[0]  # chance throughout
    (found,) = [f for f in findings.find(evidence(confusion=(steps, counts))) if f.kind == "not_learning"]
    assert found.severity == "warning" and found.step == 10 and found.evidence["chance"] == 0.25


def test_byte_valued_inputs_are_far_from_normalized():
    found = findings.input_scale(evidence(eval_inputs={"mean": 110.0, "std": 60.0, "min": 0.0, "max": 255.0}))
    assert [f.kind for f in found] == ["input_scale"]
    assert "0..255 pixel values" in found[0].message and found[0].severity == "warning"
    assert findings.input_scale(evidence(eval_inputs={"mean": 0.45, "std": 0.25, "min": 0.0, "max": 1.0})) == []


def test_findings_are_ordered_by_severity_then_step():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    statistics["fc"].rows[6:, SOURCES["weights"], S["nan_count"]] = 1
    steps, counts = learning_confusion()
    counts[:] = counts[0]
    found = findings.find(
        evidence(
            statistics=statistics, confusion=(steps, counts), eval_inputs={"mean": 100, "std": 50, "min": 0, "max": 255}
        )
    )
    assert [f.severity for f in found] == sorted((f.severity for f in found), key=findings.SEVERITIES.index)
    assert found[0].kind == "nan_inf"
    assert {f.kind for f in found} <= set(findings.KINDS)


def test_lead_lag_ranks_the_layer_whose_numbers_drifted_first():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    steps = np.arange(0, 200, 5)
    for i, layer in enumerate(LAYERS):
        rows = np.repeat(statistics[layer].rows[:1], len(steps), axis=0).copy()
        noise = np.random.default_rng(i).uniform(0.99, 1.01, len(steps))
        rows[:, SOURCES["gradients"], S["norm"]] = 0.2 * noise
        statistics[layer] = LayerStatistics(steps, rows)
    # conv2's gradients grow from step 120; the NaN reaches every layer at step 180.
    grads = statistics["conv2"].rows[:, SOURCES["gradients"], S["norm"]]
    grads[steps >= 120] *= 10 ** ((steps[steps >= 120] - 115) / 20)
    for layer in LAYERS:
        statistics[layer].rows[steps >= 180, SOURCES["activations"], S["nan_count"]] = 5
    run = RunEvidence(layers=LAYERS, statistics=statistics, checkpoints=list(range(0, 200, 20)))
    (found,) = findings.nan_inf(run)
    assert found.step == 180 and found.layer == "conv1"  # the first layer in forward order at the NaN step
    lead = found.evidence["lead_lag"]
    assert [entry["layer"] for entry in lead] == ["conv2"]
    assert lead[0]["source"] == "gradients" and 120 <= lead[0]["left_band_at"] <= 130
    assert lead[0]["lead_steps"] == 180 - lead[0]["left_band_at"]


def test_a_network_that_predicts_one_class_for_everything_is_not_learning_not_a_pile_of_pairs():
    steps, counts = learning_confusion(classes=6)
    counts[:] = 0
    counts[:, :, 4] = 100  # every image predicted as class 4
    names = ["a", "b", "c", "d", "<e>", "f"]
    run = dataclasses.replace(evidence(confusion=(steps, counts)), class_names=names)
    found = findings.find(run)
    assert [f.kind for f in found if f.kind in ("confused_classes", "not_learning")] == ["not_learning"]
    (stuck,) = [f for f in found if f.kind == "not_learning"]
    assert "predicts '<e>' for almost every image" in stuck.message and stuck.evidence["predicted_class"] == 4


def test_weights_still_because_their_gradients_are_zero_are_not_a_frozen_layer():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    rows = statistics["conv2"].rows
    rows[:, SOURCES["weights"]] = rows[0, SOURCES["weights"]]
    rows[:, SOURCES["gradients"], S["norm"]] = 0.0  # dead: no gradient reaches it
    assert not [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "frozen_layer"]
    # Without any gradient at all (requires_grad=False) still weights are a frozen layer again.
    rows[:, SOURCES["gradients"], S["count"]] = 0
    assert [f.layer for f in findings.find(evidence(statistics=statistics)) if f.kind == "frozen_layer"] == ["conv2"]


def with_health_columns(stats: LayerStatistics, update_ratio: float, saturation: float) -> LayerStatistics:
    """The layer's rows with the version-2 columns set: update ratio of the weights, saturation of the outputs."""
    rows = stats.rows.copy()
    rows[:, :, [S["update_ratio"], S["saturation"]]] = np.nan
    rows[:, SOURCES["weights"], S["update_ratio"]] = update_ratio
    rows[:, SOURCES["activations"], S["saturation"]] = saturation
    return LayerStatistics(stats.steps, rows)


def test_saturated_outputs_and_unstable_updates_warn_per_layer_and_usual_values_do_not():
    statistics = {
        layer: with_health_columns(healthy_statistics(i), update_ratio=2e-3, saturation=0.05)
        for i, layer in enumerate(LAYERS)
    }
    assert findings.find(evidence(statistics=statistics)) == []
    statistics["conv2"] = with_health_columns(healthy_statistics(1), update_ratio=0.5, saturation=0.9)
    found = {f.kind: f for f in findings.find(evidence(statistics=statistics))}
    assert (found["saturated_units"].layer, found["saturated_units"].severity) == ("conv2", "warning")
    assert found["saturated_units"].message.startswith("conv2: 90% of its outputs saturate")
    assert found["saturated_units"].selection == {
        "layer": "conv2",
        "step": 90,
        "stat": "saturation",
        "source": "activations",
    }
    assert (found["unstable_updates"].layer, found["unstable_updates"].evidence["update_ratio"]) == ("conv2", 0.5)


def test_unstable_updates_are_judged_on_the_median_between_checkpoints_not_one_step():
    steps = np.arange(0, 100)  # statistics at every step, a checkpoint every 10
    statistics = {}
    for i, layer in enumerate(LAYERS):
        rows = np.repeat(healthy_statistics(i).rows[:1], len(steps), axis=0)
        statistics[layer] = with_health_columns(LayerStatistics(steps, rows), update_ratio=2e-3, saturation=0.0)
    ratio = statistics["conv2"].rows[:, SOURCES["weights"], S["update_ratio"]]
    ratio[::10] = 0.8  # one large step per interval: warm restarts, not instability
    assert not [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "unstable_updates"]
    ratio[31:] = np.where(np.arange(31, 100) % 2, 0.05, 0.6)  # swinging by 5% and 60% of the norm, step after step
    (found,) = [f for f in findings.find(evidence(statistics=statistics)) if f.kind == "unstable_updates"]
    assert (found.severity, found.layer, found.step) == ("warning", "conv2", 40)
    assert found.evidence["update_ratio"] == pytest.approx(np.median([0.05, 0.6] * 5))


def training_inputs(mean: float, std: float, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Input statistics of every logged step (count, mean, std, min, max, norm, zero share, NaN, Inf)."""
    rows = np.tile([3072.0, mean, std, low, high, 1.0, 0.0, 0.0, 0.0], (len(STEPS), 1))
    return STEPS.copy(), rows


def test_training_inputs_on_another_scale_than_the_eval_images_are_found_both_ways():
    normalized = {"mean": 0.01, "std": 1.0, "min": -2.1, "max": 2.6}
    in_bytes = {"mean": 110.0, "std": 60.0, "min": 0.0, "max": 255.0}
    run = dataclasses.replace(evidence(eval_inputs=normalized), training_inputs=training_inputs(110, 60, 0, 255))
    (found,) = findings.input_scale(run)
    assert (found.severity, found.layer, found.step) == ("warning", "conv1", 0)
    assert "during training" in found.message and "not preprocessed alike" in found.message
    run = dataclasses.replace(evidence(eval_inputs=in_bytes), training_inputs=training_inputs(0.0, 1.0, -2, 2))
    (found,) = findings.input_scale(run)
    assert (found.layer, found.evidence["training_std"]) == (None, 1.0)
    assert "not preprocessed like the training images" in found.message
    # Both normalized, or both 0..1: quiet. A log without training inputs reads as before.
    assert findings.input_scale(dataclasses.replace(evidence(), training_inputs=training_inputs(0, 1, -2, 2))) == []
    assert findings.input_scale(dataclasses.replace(evidence(), training_inputs=training_inputs(0.5, 0.3, 0, 1))) == []
    assert findings.input_scale(evidence()) == []


def test_training_inputs_off_scale_only_briefly_are_not_a_warning():
    steps, rows = training_inputs(0.0, 1.0, -2, 2)
    rows[3:5] = [3072.0, 110, 60, 0, 255, 1.0, 0.0, 0.0, 0.0]  # two checkpoints' worth
    assert findings.input_scale(dataclasses.replace(evidence(), training_inputs=(steps, rows))) == []


def noisy_loss(steps: np.ndarray, seed: int = 0) -> np.ndarray:
    """A loss that falls from 2.3 to about 0.05 with minibatch noise of +-50% and one hard batch in 20."""
    rng = np.random.default_rng(seed)
    loss = 0.05 + 2.25 * np.exp(-steps / 150) * rng.uniform(0.5, 1.5, len(steps))
    loss *= rng.uniform(0.5, 1.5, len(steps))
    hard = rng.uniform(size=len(steps)) < 0.05
    return np.where(hard, loss * 4, loss)


@pytest.mark.parametrize("seed", range(5))
def test_a_noisy_loss_that_falls_has_no_spike(seed):
    steps = np.arange(1000)
    run = dataclasses.replace(evidence(), loss=(steps, noisy_loss(steps, seed)))
    assert findings.loss_spikes(run) == []
    assert findings.find(run) == []


def test_a_loss_that_jumps_and_stays_up_is_a_spike_and_one_that_turns_nan_is_nan_inf():
    steps = np.arange(1000)
    loss = noisy_loss(steps)
    loss[600:640] = 30.0
    run = dataclasses.replace(evidence(), loss=(steps, loss))
    (spike,) = findings.loss_spikes(run)
    assert (spike.step, spike.last_step, spike.loss, spike.recovered) == (600, 639, 30.0, True)
    assert spike.threshold >= findings.LOSS_SPIKE_FACTOR * spike.median
    assert "the loss jumped to 30 at step 600" in spike.message
    loss[900:] = np.nan  # the loss function itself: no logged tensor holds a NaN
    run = dataclasses.replace(evidence(), loss=(steps, loss))
    (bad,) = [f for f in findings.find(run) if f.kind == "nan_inf"]
    assert (bad.severity, bad.layer, bad.step, bad.evidence["source"]) == ("error", None, 900, "loss")
    assert len(findings.loss_spikes(run)) == 1  # the NaN is not a spike of its own


def test_a_nan_loss_after_a_layers_nan_output_leaves_the_root_at_the_layer():
    statistics = {layer: healthy_statistics(i) for i, layer in enumerate(LAYERS)}
    statistics["conv2"].rows[5:, SOURCES["activations"], S["nan_count"]] = 4
    loss = np.ones(len(STEPS))
    loss[5:] = np.nan  # the same step: the forward pass made it
    run = dataclasses.replace(evidence(statistics=statistics), loss=(STEPS.copy(), loss))
    (bad,) = [f for f in findings.find(run) if f.kind == "nan_inf"]
    assert (bad.layer, bad.step, bad.evidence["source"]) == ("conv2", 50, "activations")


def test_lead_lag_of_a_loss_spike_ranks_the_layer_that_jumped_a_step_earlier_first():
    steps = np.arange(0, 200)
    statistics = {}
    for i, layer in enumerate(LAYERS):
        rng = np.random.default_rng(i)
        rows = np.repeat(healthy_statistics(i).rows[:1], len(steps), axis=0).copy()
        for source in ("weights", "gradients", "activations"):
            rows[:, SOURCES[source], S["norm"]] = rng.uniform(0.95, 1.05, len(steps))
        statistics[layer] = LayerStatistics(steps, rows)
    statistics["conv2"].rows[150:, SOURCES["weights"], S["norm"]] *= 20  # its learning rate jumped at step 150
    for layer in LAYERS:  # the next forward pass goes through it
        statistics[layer].rows[151:, SOURCES["activations"], S["norm"]] *= 50
    loss = noisy_loss(steps)
    loss[151:] = 40.0
    run = RunEvidence(layers=LAYERS, statistics=statistics, checkpoints=list(range(0, 200, 20)), loss=(steps, loss))
    (spike,) = findings.loss_spikes(run)
    assert spike.step == 151 and not spike.recovered
    assert [(e["layer"], e["left_band_at"], e["lead_steps"]) for e in spike.lead_lag] == [
        ("conv2", 150, 1),
        ("conv1", 151, 0),
        ("fc", 151, 0),
    ]
