"""Small models and data shared by the tests."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the identity, then relu (the ReLU module is called twice)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class SmallResNet(nn.Module):
    """A CNN with BatchNorm, a residual block, Dropout and nested nn.Sequential, for 16x16 RGB input."""

    def __init__(self, num_classes: int = 4, channels: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU())
        self.stage = nn.Sequential(ResidualBlock(channels), nn.MaxPool2d(2))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(channels * 16, 16),
            nn.ReLU(),
            nn.Linear(16, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stage(self.stem(x)))


SMALL_RESNET_LAYERS = ["stem.0", "stage.0.conv1", "stage.0.conv2", "head.3", "head.5"]


def make_images(count: int = 96, num_classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class shows as a brighter quadrant, so a few steps of training move the model."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % num_classes
    images = torch.randn(count, 3, 16, 16, generator=generator) * 0.5
    for index, label in enumerate(labels.tolist()):
        row, col = divmod(label % 4, 2)
        images[index, :, row * 8 : row * 8 + 8, col * 8 : col * 8 + 8] += 1.5
    return images, labels


def train_logged(
    viz: Any,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    checkpoints: Sequence[int],
    *,
    after_update: Optional[Callable[[int], None]] = None,
    after_checkpoint: Optional[Callable[[int], None]] = None,
) -> None:
    """Steps 0 .. max(checkpoints) on the first 16 images under the ``DeepViz`` ``viz``.

    Every step is logged (``log_step``), and ``checkpoints`` with ``log_checkpoint``.
    ``after_update(step)`` runs after the optimizer's update and before ``log_step``;
    ``after_checkpoint(step)`` after each ``log_checkpoint``.
    """
    import torch.nn.functional as F

    for step in range(max(checkpoints) + 1):
        loss = F.cross_entropy(model(images[:16]), labels[:16])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if after_update is not None:
            after_update(step)
        viz.log_step(step)
        if step in checkpoints:
            viz.log_checkpoint(step)
            if after_checkpoint is not None:
                after_checkpoint(step)


def write_training_run(
    logdir: str,
    run: str,
    checkpoints: Sequence[int],
    *,
    class_names: Sequence[str],
    plant_nan_at: Optional[int] = None,
    clusters: int = 4,
    probe: int = 4,
) -> None:
    """Train ``SmallResNet`` a few steps under ``DeepViz``, logging every step and at ``checkpoints``.

    With ``plant_nan_at``, a weight of ``head.3`` turns NaN after that step's update (and the
    activations of a forward pass with it), as in a run that diverges.
    """
    import os

    from torch.utils.tensorboard import SummaryWriter

    from tensorboard_deepviz import DeepViz

    torch.manual_seed(1)
    model = SmallResNet(num_classes=len(class_names))
    images, labels = make_images(48, num_classes=len(class_names))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = SummaryWriter(os.path.join(logdir, run))

    def plant_nan(step: int) -> None:
        if step == plant_nan_at:
            with torch.no_grad():
                model.head[3].weight[0, 0] = float("nan")
            model(images[:4])  # the activations of the last forward pass now hold NaN too

    with DeepViz(writer, model, (images, labels), class_names=list(class_names), probe=probe, clusters=clusters) as viz:
        train_logged(viz, model, optimizer, images, labels, checkpoints, after_update=plant_nan)
    writer.close()
