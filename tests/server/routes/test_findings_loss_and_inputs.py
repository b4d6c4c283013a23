"""routes.findings on the loss and the training inputs' statistics: read when logged, absent in older logs."""

from __future__ import annotations

from urllib.parse import parse_qsl

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routes import findings
from tests.server.small_log import RUN, small_log, write_run
from tests.support.fakelog import FakeLog


class OlderLog(FakeLog):
    """A log as versions before the loss and input statistics were read (or a loop that passes no loss) wrote it."""

    def add(self, run: str, summary: summary_pb2.Summary, step: int) -> None:
        newer = (metadata.tag_for(metadata.KIND_INPUTS), metadata.tag_for(metadata.KIND_LOSS))
        kept = [value for value in summary.value if value.tag not in newer]
        if kept:
            super().add(run, summary_pb2.Summary(value=kept), step)


def test_an_older_log_without_loss_or_input_statistics_answers_as_before():
    older = OlderLog()
    write_run(older)
    evidence = findings.gather_evidence(older.run(RUN))
    assert evidence.training_inputs is None and evidence.loss is None
    body = findings.answer_findings(older.run(RUN))
    assert body["loss_spikes"] == []
    assert body["findings"] == findings.answer_findings(small_log().run(RUN))["findings"]


def test_a_logged_loss_and_input_statistics_reach_the_rules():
    log = small_log(checkpoints=(0, 2))
    for step in range(3):
        log.add(RUN, summary.input_statistics_summary([64.0, 120.0, 60.0, 0.0, 255.0, 1e3, 0.1, 0.0, 0.0]), step)
    evidence = findings.gather_evidence(log.run(RUN))
    assert evidence.loss is not None and evidence.loss[0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(evidence.loss[1], [2.0, 1.0, 2 / 3])  # small_log's loss, 2 / (step + 1)
    assert evidence.training_inputs is not None
    steps, rows = evidence.training_inputs
    assert steps.tolist() == [0, 1, 2] and rows.shape == (3, len(metadata.INPUT_STATISTIC_NAMES))
    assert rows[0, metadata.INPUT_STATISTIC_NAMES.index("max")] == 255.0


def test_a_loss_spike_is_answered_beside_the_findings_with_its_link():
    log = small_log(checkpoints=(0, 2))
    losses = [1.0 + 0.05 * np.sin(step) for step in range(40)] + [30.0] * 5 + [1.0] * 10
    for step, loss in enumerate(losses[3:], start=3):  # small_log logs steps 0 to 2
        log.add(RUN, summary.loss_summary(loss), step)
    body = findings.answer_findings(log.run(RUN))
    (spike,) = body["loss_spikes"]
    assert (spike["step"], spike["last_step"], spike["loss"], spike["recovered"]) == (40, 44, 30.0, True)
    assert dict(parse_qsl(spike["link"][1:])) == {"run": RUN, "view": "dynamics", "step": "40"}
    assert set(spike) >= {"step", "last_step", "loss", "median", "threshold", "message", "lead_lag", "link"}


def test_input_statistics_must_have_their_shape():
    with pytest.raises(ValueError, match="input statistics must have shape"):
        summary.input_statistics_summary([1.0, 2.0])
