"""Findings on real training runs with planted faults, and on healthy ones that must stay quiet.

Each test trains a small network with DeepViz for a few dozen steps, with one fault planted where
a user would make it (a layer killed by a large negative bias, an Inf in one weight, two classes'
training labels swapped, a layer left out of the optimizer, a deep sigmoid stack, a learning rate
far too high, training and eval images preprocessed differently, one layer's learning rate jumping
mid-run), then asks the findings route what is wrong: kind, layer and step must be the planted
ones. The same network trained properly must raise no warning or error. The log is kept in
memory (``tests.support.fakelog``) and read through the server's own access layer.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import pytest
import torch
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.server.routes import findings
from tests.support.fakelog import FakeLog

CLASSES = 4
SIDE = 12
STEPS = 60
EVERY = 6  # a checkpoint every 6 steps: 11 checkpoints


class LogWriter:
    """A writer adding DeepViz's summaries to a ``FakeLog`` run."""

    def __init__(self, log: FakeLog, run: str) -> None:
        self.log, self.run = log, run

    def add_summary(self, summary: Any, global_step: Optional[int] = None) -> None:
        self.log.add(self.run, summary, int(global_step or 0))

    def flush(self) -> None:
        pass


def quadrant_images(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images in [-1, 1] scale whose bright quadrant is the class: easy to learn in a few steps."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % CLASSES
    images = torch.randn(count, 3, SIDE, SIDE, generator=generator) * 0.3
    half = SIDE // 2
    for index, label in enumerate(labels.tolist()):
        row, col = divmod(label, 2)
        images[index, :, row * half : (row + 1) * half, col * half : (col + 1) * half] += 1.5
    return images, labels


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))))


def train(make_model: Callable[[], nn.Module], **options: Any) -> list[dict[str, Any]]:
    """``train_answer``'s findings alone (the same options)."""
    return train_answer(make_model, **options)["findings"]


def train_answer(
    make_model: Callable[[], nn.Module],
    *,
    lr: float = 0.05,
    parameters: Optional[Callable[[nn.Module], Any]] = None,
    relabel: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    before_step: Optional[Callable[[nn.Module, int], None]] = None,
    seed: int = 0,
    scale_inputs: float = 1.0,
    scaled: str = "both",
    optimizer: Optional[Callable[[Any], torch.optim.Optimizer]] = None,
    on_optimizer: Optional[Callable[[torch.optim.Optimizer, int], None]] = None,
) -> dict[str, Any]:
    """Train a model made by ``make_model`` with DeepViz logging into memory; return the findings answer.

    The whole answer: findings and loss spikes. The model is made after seeding, so every test's
    run is the same whatever ran before it. ``scaled`` says which images ``scale_inputs`` applies
    to: "both", "train" or "eval". ``optimizer`` makes the optimizer from the parameters (default
    SGD with momentum 0.9); ``on_optimizer(optimizer, step)`` runs before each step (to change a
    learning rate).
    """
    torch.manual_seed(seed)
    model = make_model()
    images, labels = quadrant_images(256, seed=seed)
    eval_images, eval_labels = quadrant_images(64, seed=seed + 100)
    if scale_inputs != 1.0:  # e.g. 127.5: about 0..255, a pipeline that forgot to normalize
        if scaled in ("both", "train"):
            images = (images.clamp(-1, 1) + 1) * scale_inputs
        if scaled in ("both", "eval"):
            eval_images = (eval_images.clamp(-1, 1) + 1) * scale_inputs
    train_labels = relabel(labels) if relabel else labels
    trained = parameters(model) if parameters else model.parameters()
    step_rule = optimizer(trained) if optimizer else torch.optim.SGD(trained, lr=lr, momentum=0.9)
    log = FakeLog()
    with DeepViz(LogWriter(log, "run"), model, (eval_images, eval_labels), probe=4, clusters=4, batch_size=64) as viz:
        for step in range(STEPS + 1):
            if step % EVERY == 0:
                viz.log_checkpoint(step)
            if step == STEPS:
                break
            if before_step:
                before_step(model, step)
            if on_optimizer:
                on_optimizer(step_rule, step)
            batch = torch.randint(0, len(images), (32,), generator=torch.Generator().manual_seed(step))
            loss = nn.functional.cross_entropy(model(images[batch]), train_labels[batch])
            step_rule.zero_grad()
            loss.backward()
            step_rule.step()
            viz.log_step(step, loss=loss)
    return findings.answer_findings(log.run("run"))


def alarms(found: list[dict[str, Any]]) -> list[tuple[str, str, Optional[str]]]:
    return [(f["severity"], f["kind"], f["layer"]) for f in found if f["severity"] != "info"]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("lr", [0.02, 0.05])
def test_healthy_training_raises_no_warning_or_error(seed, lr):
    answer = train_answer(SmallNet, lr=lr, seed=seed)
    assert alarms(answer["findings"]) == []
    assert answer["loss_spikes"] == []  # the loss of a batch of 32 is noisy, but it does not spike


def test_a_layer_killed_by_a_large_negative_bias_has_dead_units():
    def killed() -> nn.Module:
        model = SmallNet()
        with torch.no_grad():
            model.conv2.bias.fill_(-100.0)
        return model

    found = train(killed)
    (dead,) = [f for f in found if f["kind"] == "dead_units" and f["severity"] != "info"]
    assert (dead["severity"], dead["layer"], dead["step"]) == ("error", "conv2", 0)
    assert dead["message"].startswith("conv2: 100% of units never fire")


def test_an_inf_planted_in_one_weight_is_found_at_its_step_and_layer():
    def plant(model: nn.Module, step: int) -> None:
        if step == 20:
            with torch.no_grad():
                model.conv2.weight[0, 0, 0, 0] = float("inf")

    found = train(SmallNet, before_step=plant)
    first = found[0]
    assert (first["kind"], first["severity"], first["layer"]) == ("nan_inf", "error", "conv2")
    # Planted before the forward pass of step 20: log_step(20) is the first to see it, in conv2's
    # output; the update after it floods every weight with NaN.
    assert first["step"] == 20 and first["evidence"]["source"] == "activations"  # its output, in the forward pass


def test_two_classes_training_labels_swapped_are_confused_both_ways():
    def swap(labels: torch.Tensor) -> torch.Tensor:
        swapped = labels.clone()
        swapped[labels == 1], swapped[labels == 2] = 2, 1
        return swapped

    found = train(SmallNet, relabel=swap)
    (confused,) = [f for f in found if f["kind"] == "confused_classes" and f["severity"] == "warning"]
    assert sorted(confused["evidence"]["classes"]) == [1, 2] and confused["evidence"]["swapped"] is True
    assert "labels may be swapped" in confused["message"]


def test_a_layer_left_out_of_the_optimizer_is_frozen():
    def without_conv1(model: nn.Module) -> list[nn.Parameter]:
        return [p for name, p in model.named_parameters() if not name.startswith("conv1.")]

    found = train(SmallNet, parameters=without_conv1)
    assert [(f["severity"], f["layer"]) for f in found if f["kind"] == "frozen_layer"] == [("warning", "conv1")]
    assert [f for f in alarms(found) if f[1] != "frozen_layer"] == []


class SigmoidStack(nn.Module):
    """Eight sigmoid layers: the classic vanishing-gradient network."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = 3 * SIDE * SIDE
        for _ in range(8):
            layers += [nn.Linear(width, 32), nn.Sigmoid()]
            width = 32
        layers.append(nn.Linear(32, CLASSES))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_a_deep_sigmoid_stack_has_vanishing_gradients():
    found = train(SigmoidStack, lr=0.05)
    (vanishing,) = [f for f in found if f["kind"] == "vanishing_gradients"]
    assert vanishing["severity"] == "warning" and vanishing["layer"] == "body.1"
    assert vanishing["evidence"]["ratio"] < findings.rules.VANISHING_RATIO


def test_a_learning_rate_far_too_high_kills_the_relu_layers():
    # What a learning rate far too high does to this ReLU network: the first updates push its
    # units negative for good.
    found = train(SmallNet, lr=50.0)
    dead = [f for f in found if f["kind"] == "dead_units" and f["severity"] == "error"]
    assert dead and dead[0]["layer"] == "conv2"
    assert "not_learning" in {f["kind"] for f in found if f["severity"] == "warning"}


class TanhNet(nn.Module):
    """A tanh after a linear layer whose weights are far too large: its outputs pin at +-1."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(3 * SIDE * SIDE, 32)
        self.tanh = nn.Tanh()
        self.out = nn.Linear(32, CLASSES)
        with torch.no_grad():
            self.hidden.weight.mul_(200.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.tanh(self.hidden(self.flatten(x))))


def test_a_tanh_layer_with_huge_weights_is_saturated():
    found = train(TanhNet, lr=0.01)
    (saturated,) = [f for f in found if f["kind"] == "saturated_units"]
    assert (saturated["severity"], saturated["layer"]) == ("warning", "hidden")
    assert saturated["evidence"]["saturated_share"] > 0.9


def test_byte_valued_inputs_are_far_from_normalized():
    found = train(SmallNet, scale_inputs=127.5, lr=0.001)
    scale = {f["layer"]: f for f in found if f["kind"] == "input_scale"}
    # Both the eval images and the batches conv1 receives in training.
    assert set(scale) == {None, "conv1"}
    assert all(f["severity"] == "warning" and "0..255 pixel values" in f["message"] for f in scale.values())
    assert scale["conv1"]["step"] == 0 and scale["conv1"]["evidence"]["magnitude"] == pytest.approx(255, rel=0.01)


def test_training_inputs_in_bytes_while_the_eval_images_are_normalized_are_found():
    # A training pipeline that forgot to normalize, an eval set that did not.
    found = train(SmallNet, scale_inputs=127.5, scaled="train", lr=0.001)
    (scale,) = [f for f in found if f["kind"] == "input_scale"]
    assert (scale["severity"], scale["layer"], scale["step"]) == ("warning", "conv1", 0)
    assert "during training" in scale["message"] and "not preprocessed alike" in scale["message"]
    assert scale["evidence"]["std"] > 50 and scale["evidence"]["eval_std"] < 2


def test_eval_images_in_bytes_while_training_inputs_are_normalized_are_found():
    found = train(SmallNet, scale_inputs=127.5, scaled="eval")
    (scale,) = [f for f in found if f["kind"] == "input_scale"]
    assert (scale["severity"], scale["layer"], scale["step"]) == ("warning", None, 0)
    assert "0..255 pixel values" in scale["message"] and "not preprocessed like the training images" in scale["message"]
    assert scale["evidence"]["training_std"] < 2


class BatchNormNet(nn.Module):
    """SmallNet with BatchNorm after each convolution: its units cannot die, whatever the updates."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
        return self.fc(self.flatten(self.pool(x)))


def test_sgd_with_learning_rate_and_weight_decay_far_too_high_makes_updates_unstable():
    # SGD at lr 1.0 with weight decay 0.1 (usual: 0.1 and 5e-4) on a BatchNorm network: BatchNorm keeps
    # the units alive and the network still learns, but weight decay and the gradient settle the
    # weights' norm where each step rotates them by about sqrt(2 lr wd / (1 + momentum)) = 0.32 of it
    # (the equilibrium of scale-invariant weights), 300 times the usual 1e-3.
    found = train(
        BatchNormNet, optimizer=lambda parameters: torch.optim.SGD(parameters, lr=1.0, momentum=0.9, weight_decay=0.1)
    )
    unstable = [f for f in found if f["kind"] == "unstable_updates"]
    assert [(f["severity"], f["layer"], f["step"]) for f in unstable] == [
        ("warning", "conv1", 6),
        ("warning", "conv2", 6),
        ("warning", "fc", 6),
    ]
    assert all(f["evidence"]["update_ratio"] > findings.rules.UNSTABLE_UPDATE_RATIO for f in unstable)
    # Nothing else is wrong with it: it learns, and BatchNorm keeps its units alive.
    assert [f for f in alarms(found) if f[1] != "unstable_updates"] == []


def _conv2_in_its_own_group(model: nn.Module) -> list[dict[str, Any]]:
    conv2 = [p for name, p in model.named_parameters() if name.startswith("conv2.")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("conv2.")]
    return [{"params": rest}, {"params": conv2}]


def noisy_labels(labels: torch.Tensor) -> torch.Tensor:
    """30% of the training labels replaced at random: the loss stays well above zero, so a step can still hurt."""
    generator = torch.Generator().manual_seed(5)
    flip = torch.rand(len(labels), generator=generator) < 0.3
    return torch.where(flip, torch.randint(0, CLASSES, (len(labels),), generator=generator), labels)


def test_a_learning_rate_jump_spikes_the_loss_and_the_layer_that_moved_first_ranks_first():
    def jump(optimizer: torch.optim.Optimizer, step: int) -> None:
        if step == 40:  # conv2's learning rate, 300 times higher from step 40 on (a scheduler bug)
            optimizer.param_groups[1]["lr"] *= 300

    answer = train_answer(SmallNet, relabel=noisy_labels, parameters=_conv2_in_its_own_group, on_optimizer=jump)
    spike = answer["loss_spikes"][0]
    # Step 40's update moves conv2; step 41's forward pass, through it, spikes the loss.
    assert spike["step"] == 41 and spike["loss"] > 2 * spike["median"]
    assert spike["lead_lag"][0]["layer"] == "conv2" and spike["lead_lag"][0]["left_band_at"] == 40
    assert all(entry["left_band_at"] >= 41 for entry in spike["lead_lag"][1:])
    assert spike["link"].startswith("#") and "layer=conv2" in spike["link"] and "step=41" in spike["link"]


def test_the_same_noisy_labels_without_the_jump_do_not_spike():
    answer = train_answer(SmallNet, relabel=noisy_labels, parameters=_conv2_in_its_own_group)
    assert answer["loss_spikes"] == []
