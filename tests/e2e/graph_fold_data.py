"""The folded-graph e2e log: a stage of one widening block and four identical residual blocks, one of them dead.

Shared by tests/e2e/test_graph_fold.py; written into the test's own log directory.
"""

from __future__ import annotations

import os

import torch
from torch import nn

RUN = "folded"
CHECKPOINTS = [0, 2, 4]  # three: a finding must hold at 3 consecutive checkpoints to be raised
IDENTICAL_BLOCKS = 4
DEAD_LAYER = "stage.2.conv1"  # inside the fold stage.1–4: its bias of -100 keeps every unit below 0
CLASS_NAMES = ["top left", "top right", "bottom left", "bottom right"]


class Block(nn.Module):
    """conv-relu-conv plus the input (through a 1x1 convolution when the width changes), then relu."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.conv2(self.relu1(self.conv1(x))) + self.shortcut(x))


class StageNet(nn.Module):
    """A stem, then `stage`: block 0 widens 4 -> 8 channels, blocks 1-4 are identical; a linear head."""

    def __init__(self, classes: int = len(CLASS_NAMES)) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.stage = nn.Sequential(Block(4, 8), *(Block(8, 8) for _ in range(IDENTICAL_BLOCKS)))
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.stage(torch.relu(self.stem(x))))))


def write_folded_run(logdir: str) -> None:
    """Train ``StageNet`` a few steps under DeepViz, with ``DEAD_LAYER`` killed by a -100 bias."""
    from torch.utils.tensorboard import SummaryWriter

    from tensorboard_deepviz import DeepViz
    from tests.support.models import make_images, train_logged

    torch.manual_seed(0)
    model = StageNet()
    dead = model.get_submodule(DEAD_LAYER)
    assert isinstance(dead, nn.Conv2d) and dead.bias is not None
    with torch.no_grad():
        dead.bias.fill_(-100.0)
    images, labels = make_images(32, num_classes=len(CLASS_NAMES))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = SummaryWriter(os.path.join(logdir, RUN))
    with DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES, probe=4, clusters=2) as viz:
        train_logged(viz, model, optimizer, images, labels, CHECKPOINTS)
    writer.close()
