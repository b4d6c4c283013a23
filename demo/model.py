"""The small CNN of the deepViz paper: three 5x5 convolutions and two fully connected layers."""

from __future__ import annotations

import torch
from torch import nn


class DeepVizNet(nn.Module):
    """The deepViz paper's 3-layer CIFAR-10 network.

    conv 5x5x32 -> ReLU -> maxpool 2 -> conv 5x5x32 -> ReLU -> maxpool 2 -> conv 5x5x64 -> ReLU
    -> maxpool 2 -> flatten -> fc 64 -> ReLU -> fc ``num_classes``. Every convolution pads by 2,
    so each stage halves the image side exactly.

    Each step is its own named module (rather than a functional call or a shared pooling
    module) so that the layer graph and the logged layer names read ``conv1``, ``relu1``,
    ``pool1``, ... in the dashboard.

    Args:
      in_channels: channels of the input images (3 for CIFAR-10 and the 3-channel digits).
      num_classes: number of output scores (logits) per image.
      image_size: side of the square input images; must be a positive multiple of 8 because
        the three poolings divide it by 8.

    Raises:
      ValueError: if an argument is not positive or ``image_size`` is not a multiple of 8.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int = 32) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes), ("image_size", image_size)):
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (three 2x2 poolings), got {image_size}")
        self.image_size = image_size
        self.conv1 = nn.Conv2d(in_channels, 32, kernel_size=5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(32, 32, kernel_size=5, padding=2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 64, kernel_size=5, padding=2)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        side = image_size // 8
        self.fc1 = nn.Linear(64 * side * side, 64)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``[batch, in_channels, image_size, image_size]`` images to ``[batch, num_classes]`` logits."""
        x = self.pool1(self.relu1(self.conv1(images)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.pool3(self.relu3(self.conv3(x)))
        x = self.relu4(self.fc1(self.flatten(x)))
        return self.fc2(x)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a shortcut; a 1x1 projection when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.downsample(x))


class ResNet20(nn.Module):
    """The CIFAR ResNet-20 of He et al. (2016): a 3x3 stem, three stages of three basic blocks, a linear head.

    Widths 16, 32 and 64; the second and third stages halve the image side in their first block
    (which carries a 1x1 projection shortcut), so each stage is one block that differs followed
    by two identical ones: the dashboard's graph folds them (``layer2.1–2 ×2``).

    Args:
      in_channels: channels of the input images.
      num_classes: number of output scores (logits) per image.
      blocks: basic blocks per stage (3 for ResNet-20).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, blocks: int = 3) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes), ("blocks", blocks)):
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        stages = []
        channels = 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            layers = [BasicBlock(channels, width, stride)] + [BasicBlock(width, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            channels = width
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``[batch, in_channels, H, W]`` images to ``[batch, num_classes]`` logits."""
        x = self.relu(self.bn1(self.conv1(images)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.flatten(self.pool(x)))
