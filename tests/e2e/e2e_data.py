"""What the e2e logs hold: shared by the fixtures (conftest.py) and the tests."""

from __future__ import annotations

from typing import Optional

# Class names with markup: the dashboard must show them as text (docs/ARCHITECTURE.md, Reliability and safety: every text from a log is escaped).
CLASS_NAMES = ["<b>cat</b>", "<img src=x onerror=alert(1)>", 'dog & "friends"', "plain"]
MAIN_RUN = "main"
MAIN_CHECKPOINTS = [0, 2, 4, 6, 8, 10]
SECOND_RUN = "nan_run"  # sorts after MAIN_RUN; holds NaN from NAN_STEP on, for the dynamics anomaly
SECOND_CHECKPOINTS = [0, 2, 4]
NAN_STEP = 3
CLUSTERS = 4


def write_run(logdir: str, run: str, checkpoints: list[int], *, plant_nan_at: Optional[int] = None) -> None:
    """One e2e run: the shared test training run with this file's class names and cluster count."""
    from tests.support.models import write_training_run

    write_training_run(logdir, run, checkpoints, class_names=CLASS_NAMES, plant_nan_at=plant_nan_at, clusters=CLUSTERS)
