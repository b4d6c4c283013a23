"""What the e2e logs hold: shared by the fixtures (conftest.py) and the tests."""

from __future__ import annotations

import os
from typing import Optional

# Class names with markup: the dashboard must show them as text (DESIGN.md §4: every text from a log is escaped).
CLASS_NAMES = ["<b>cat</b>", "<img src=x onerror=alert(1)>", "dog & \"friends\"", "plain"]
MAIN_RUN = "main"
MAIN_CHECKPOINTS = [0, 2, 4, 6, 8, 10]
SECOND_RUN = "nan_run"  # sorts after MAIN_RUN; holds NaN from NAN_STEP on, for the dynamics anomaly
SECOND_CHECKPOINTS = [0, 2, 4]
NAN_STEP = 3
CLUSTERS = 4


def write_run(logdir: str, run: str, checkpoints: list[int], *, plant_nan_at: Optional[int] = None) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.tensorboard import SummaryWriter

    from models import SmallResNet, make_images
    from tensorboard_deepviz import DeepViz

    torch.manual_seed(1)
    model = SmallResNet(num_classes=len(CLASS_NAMES))
    images, labels = make_images(48, num_classes=len(CLASS_NAMES))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = SummaryWriter(os.path.join(logdir, run))
    with DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES, probe=4, clusters=CLUSTERS) as viz:
        for step in range(max(checkpoints) + 1):
            loss = F.cross_entropy(model(images[:16]), labels[:16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step == plant_nan_at:
                with torch.no_grad():
                    model.head[3].weight[0, 0] = float("nan")
                model(images[:4])
            viz.log_step(step)
            if step in checkpoints:
                viz.log_checkpoint(step)
    writer.close()
