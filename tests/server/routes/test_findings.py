"""routes.findings: the evidence gathered from a run's records, the links, and answers on planted faults."""

from __future__ import annotations

from urllib.parse import parse_qsl

import numpy as np

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routes import findings
from tests.server import small_log as data
from tests.server.small_log import RUN, small_log
from tests.support.fakelog import FakeLog


def _hash(link: str) -> dict[str, str]:
    assert link.startswith("#")
    return dict(parse_qsl(link[1:]))


def test_evidence_comes_from_statistics_and_the_headers_of_confusion_and_units_records():
    run = small_log(checkpoints=(0, 2)).run(RUN)
    evidence = findings.gather_evidence(run)
    assert list(evidence.layers) == ["stem", "head"] and evidence.checkpoints == [0, 2]
    assert sorted(evidence.statistics) == ["head", "stem"]
    assert evidence.statistics["stem"].rows.shape == (3, 3, len(metadata.STATISTIC_NAMES))
    steps, counts = evidence.confusion
    assert steps.tolist() == [0, 2]
    expected = np.zeros((3, 3), dtype=int)
    np.add.at(expected, (data.LABELS, data.predicted(2)), 1)
    np.testing.assert_array_equal(counts[1], expected)
    dead_steps, dead_share = evidence.dead_units["stem"]
    assert dead_steps.tolist() == [0, 2] and dead_share[-1] == 0.25  # one of stem's four hand-set units is dead


def test_a_nan_planted_in_one_layers_weights_is_an_error_linking_to_its_dynamics():
    run = small_log(checkpoints=(0, 2), nan_layer="head").run(RUN)
    body = findings.answer_findings(run)
    assert body["run"] == RUN
    first = body["findings"][0]
    assert (first["kind"], first["severity"], first["layer"], first["step"]) == ("nan_inf", "error", "head", 2)
    assert first["message"] == "head: its weights first held NaN or Inf at step 2, before any other layer's"
    assert _hash(first["link"]) == {
        "run": RUN,
        "view": "dynamics",
        "layer": "head",
        "step": "2",
        "stat": "nan_count",
        "source": "weights",
    }
    assert set(first) == {"kind", "severity", "layer", "step", "last_step", "message", "evidence", "link"}


def test_a_healthy_small_run_has_no_warning():
    body = findings.answer_findings(small_log(checkpoints=(0, 2)).run(RUN))
    assert [f for f in body["findings"] if f["severity"] != "info"] == []


def test_two_classes_swapped_over_many_checkpoints_are_found_and_link_to_their_cell():
    log = FakeLog()
    data.write_run(log, checkpoints=(0, 2))
    run_name = "swapped"
    log.add(run_name, summary.graph_summary(dict(data.GRAPH, checkpoint_markers=True)), 0)
    labels = np.array([0, 1, 2] * 10)
    for step in range(0, 12, 2):
        predicted = labels.copy()
        predicted[labels == 1], predicted[labels == 2] = 2, 1
        proto = summary.confusion_summary(labels, predicted, 3)
        log.add(run_name, proto, step)
        log.add(run_name, summary.checkpoint_summary([proto.value[0].tag]), step)
    body = findings.answer_findings(log.run(run_name))
    (found,) = [f for f in body["findings"] if f["kind"] == "confused_classes"]
    assert found["evidence"]["classes"] == [1, 2] and found["evidence"]["swapped"] is True
    assert found["severity"] == "warning" and "labels may be swapped" in found["message"]
    assert _hash(found["link"]) == {"run": run_name, "view": "confusion", "step": "10", "cell": "1,2"}


def test_units_before_a_normalization_or_the_output_are_not_judged_for_dead_units():
    graph = {
        "nodes": [
            {"id": "conv1", "type": "Conv2d"},
            {"id": "bn1", "type": "BatchNorm2d"},
            {"id": "conv2", "type": "Conv2d"},
            {"id": "fc", "type": "Linear"},
            {"id": "output", "type": "Output"},
        ],
        "edges": [
            {"source": "conv1", "target": "bn1"},
            {"source": "bn1", "target": "conv2"},
            {"source": "conv2", "target": "fc"},
            {"source": "fc", "target": "output"},
        ],
    }
    judged = findings._judged_for_dead_units(["conv1", "conv2", "fc"], graph)
    assert judged == frozenset({"conv2"})
    assert findings._judged_for_dead_units(["conv1"], {}) is None
