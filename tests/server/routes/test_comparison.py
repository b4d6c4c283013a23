"""routes.comparison: confusion differences and flips between two runs, units matched across runs."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.analysis import comparison as analysis
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import RequestError
from tensorboard_deepviz.server.routes import comparison
from tests.server import small_log as data
from tests.support.fakelog import FakeLog

LABELS = np.array([0, 1, 2, 0, 1, 2])
PROBES = [0, 1, 2]


def _run(log: FakeLog, name: str, predicted: np.ndarray, activations: np.ndarray, *, labels=LABELS) -> None:
    log.add(name, summary.graph_summary(dict(data.GRAPH, checkpoint_markers=False)), 0)
    log.add(name, summary.corpus_summary(data.thumbnails(), labels, data.CLASS_NAMES), 0)
    probabilities = np.full((len(PROBES), 3), 1 / 3)
    log.add(name, summary.predictions_summary(PROBES, probabilities, predicted, np.full(len(labels), 0.5)), 4)
    log.add(name, summary.confusion_summary(labels, predicted, 3), 4)
    log.add(name, summary.activations_summary("stem", activations, PROBES), 4)
    log.add(name, summary.weights_summary("stem", np.arange(4 * 12, dtype=np.float32).reshape(4, 3, 2, 2)), 4)


def _activations(order: list[int]) -> np.ndarray:
    """Four units with distinct responses over 3 probe images x 2 x 2 positions, in ``order``."""
    rng = np.random.default_rng(0)
    units = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)  # [unit, probe, h, w]
    return np.moveaxis(units[order], 0, 1)  # [probe, unit, h, w]


def test_the_difference_and_the_flips_equal_what_each_runs_predictions_give():
    log = FakeLog()
    a_predicted = np.array([0, 1, 2, 1, 1, 0])  # right: 0, 1, 2, 4
    b_predicted = np.array([0, 2, 2, 0, 1, 2])  # right: 0, 2, 3, 4, 5
    _run(log, "a", a_predicted, _activations([0, 1, 2, 3]))
    _run(log, "b", b_predicted, _activations([0, 1, 2, 3]))
    run_a, run_b = log.run("a"), log.run("b")
    body = comparison.answer_confusion_diff(
        run_a, run_a.locate(metadata.KIND_CONFUSION), run_b, run_b.locate(metadata.KIND_CONFUSION)
    )
    counts = {}
    for name, predicted in (("a", a_predicted), ("b", b_predicted)):
        counts[name] = np.zeros((3, 3), dtype=int)
        np.add.at(counts[name], (LABELS, predicted), 1)
    assert body["diff"] == (counts["b"] - counts["a"]).tolist()
    assert body["flips"] == {"right_to_wrong": [1], "wrong_to_right": [3, 5]}
    assert (body["accuracy_a"], body["accuracy_b"]) == (pytest.approx(4 / 6), pytest.approx(5 / 6))


def test_a_different_eval_set_is_refused_naming_the_difference():
    log = FakeLog()
    _run(log, "a", LABELS, _activations([0, 1, 2, 3]))
    _run(log, "b", LABELS, _activations([0, 1, 2, 3]), labels=np.array([0, 1, 2, 0, 1, 1]))
    run_a, run_b = log.run("a"), log.run("b")
    with pytest.raises(RequestError, match="different eval sets: 1 images have other labels"):
        comparison.answer_confusion_diff(
            run_a, run_a.locate(metadata.KIND_CONFUSION), run_b, run_b.locate(metadata.KIND_CONFUSION)
        )


def test_units_at_other_indices_are_matched_unit_to_unit():
    log = FakeLog()
    _run(log, "a", LABELS, _activations([0, 1, 2, 3]))
    _run(log, "b", LABELS, _activations([2, 0, 3, 1]))  # b's unit i is a's unit order[i]
    body = comparison.answer_filter_match(log.run("a"), log.run("b"), "stem", None, None)
    assert body["basis"] == "activations"
    assert sorted((pair["a"], pair["b"]) for pair in body["pairs"]) == [(0, 1), (1, 3), (2, 0), (3, 2)]
    assert all(pair["similarity"] > 0.99 for pair in body["pairs"])
    assert body["unmatched_a"] == [] and body["unmatched_b"] == []


def test_a_unit_only_one_run_learned_is_left_unmatched():
    a = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]])
    b = np.array([[0.0, 1.0, 1.0, 0.1], [0.3, -0.2, 0.9, -1.0], [1.0, 0.0, 0.1, 1.0]])
    match = analysis.match_units(a, b)
    assert sorted((x, y) for x, y, _ in match.pairs) == [(0, 2), (1, 0)]
    assert match.unmatched_b == [1] and match.unmatched_a == []


def test_the_difference_reads_the_counts_array_when_the_header_has_none():
    """Confusion records of more than 100 classes keep their counts in the array alone."""
    log = FakeLog()
    a_predicted = np.array([0, 1, 2, 1, 1, 0])
    _run(log, "a", a_predicted, _activations([0, 1, 2, 3]))
    _run(log, "b", LABELS, _activations([0, 1, 2, 3]))
    counts_a = np.zeros((3, 3), dtype=np.int32)
    np.add.at(counts_a, (LABELS, a_predicted), 1)
    # A later record without header counts replaces run a's at step 6 (and its predictions follow it).
    log.add_record("a", 6, metadata.KIND_CONFUSION, {"num_classes": 3}, {"counts": counts_a})
    log.add("a", summary.predictions_summary(PROBES, np.full((3, 3), 1 / 3), a_predicted, np.full(6, 0.5)), 6)
    log.add("b", summary.confusion_summary(LABELS, LABELS, 3), 6)
    log.add("b", summary.predictions_summary(PROBES, np.full((3, 3), 1 / 3), LABELS, np.full(6, 0.5)), 6)
    run_a, run_b = log.run("a"), log.run("b")
    body = comparison.answer_confusion_diff(
        run_a, run_a.locate(metadata.KIND_CONFUSION, step=6), run_b, run_b.locate(metadata.KIND_CONFUSION, step=6)
    )
    assert body["counts_a"] == counts_a.tolist()
    assert body["diff"] == (np.diag([2, 2, 2]) - counts_a).tolist()
