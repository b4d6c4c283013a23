"""The graph record's module list, as the graph route serves it: a container's own parameter shapes.

The dashboard folds runs of structurally identical sibling modules (ResNet stages); leaves carry
their parameter shapes on their nodes, and a container with parameters of its own (a block's layer
scale) lists them on its ``modules`` entry so two blocks that differ only there are not folded.
Logs written before the field lack it and still read (``test_graph.py``'s record has none).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routes import graph
from tests.support.fakelog import FakeLog


class ScaledBlock(nn.Module):
    """conv then relu, times a learned per-channel scale held by the block itself."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU()
        self.gamma = nn.Parameter(torch.ones(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma * self.relu(self.conv(x))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.Sequential(ScaledBlock(4), ScaledBlock(4), ScaledBlock(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


class LogWriter:
    """A writer adding DeepViz's summaries to a ``FakeLog`` run."""

    def __init__(self, log: FakeLog, run: str) -> None:
        self.log, self.run = log, run

    def add_summary(self, summary: Any, global_step: Optional[int] = None) -> None:
        self.log.add(self.run, summary, int(global_step or 0))

    def flush(self) -> None:
        pass


def served_graph() -> dict[str, Any]:
    torch.manual_seed(0)
    images, labels = torch.randn(8, 3, 8, 8), torch.arange(8) % 2
    log = FakeLog()
    with DeepViz(LogWriter(log, "run"), Net(), (images, labels), probe=2, clusters=2) as viz:
        viz.log_checkpoint(0)
    run = log.run("run")
    return graph.answer_graph(run, run.locate(metadata.KIND_GRAPH))


def test_a_container_with_parameters_of_its_own_lists_their_shapes():
    answer = served_graph()
    modules = {module["name"]: module for module in answer["modules"]}
    for index in range(3):
        assert modules[f"blocks.{index}"]["parameter_shapes"] == {"gamma": [4, 1, 1]}
        assert modules[f"blocks.{index}"]["parent"] == "blocks" and modules[f"blocks.{index}"]["type"] == "ScaledBlock"
    # A container without parameters of its own, and the leaves (theirs are on their nodes), list none.
    assert "parameter_shapes" not in modules["blocks"]
    assert "parameter_shapes" not in modules["blocks.0.conv"] and "parameter_shapes" not in modules["fc"]
    nodes = {node["id"]: node for node in answer["nodes"]}
    assert nodes["blocks.1.conv"]["parameter_shapes"] == {"weight": [4, 4, 3, 3], "bias": [4]}
    assert modules["stem"]["parent"] == ""
