"""Feature visualization's engine on hand-set units whose preferred images are known by construction.

A 1x1 convolution holds a red detector (red minus the other colours), a green one, and a unit
with a large negative bias that never fires; a 3x3 convolution holds a vertical-edge detector
(left column minus right column). Rendered, the red unit must get a red image, the green one a
green image, the edge unit vertical stripes (more horizontal than vertical gradient energy), and
the dead unit must be marked as having no signal. Images are small and steps few: each render
takes a fraction of a second.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Iterator, Optional

import numpy as np
import pytest
import torch
from torch import nn

from tensorboard_deepviz.writer import capture
from tensorboard_deepviz.writer.collectors.feature_vis import copy_model
from tensorboard_deepviz.writer.feature_vis import FeatureVis
from tensorboard_deepviz.writer.feature_vis.optimize import (
    InputMap,
    LayerResult,
    LayerState,
    Probe,
    optimize_layer,
    prepare_copy,
)
from tensorboard_deepviz.writer.feature_vis.parameterization import (
    FourierImages,
    PixelImages,
    gaussian_blur,
    spectrum_scale,
)
from tensorboard_deepviz.writer.feature_vis.transforms import Robustness

SIDE = 16
# Grey (0.5) is the model's 0: a colour detector is neither firing nor dead on the first image.
CENTRED = InputMap((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), learned=False)
RED, GREEN, EDGE, DEAD = 0, 1, 2, 3


class Detectors(nn.Module):
    """``colour``: 1x1 red and green detectors, a dead unit; ``edges``: a 3x3 vertical-edge unit; rectified by ``relu``."""

    def __init__(self) -> None:
        super().__init__()
        self.colour = nn.Conv2d(3, 4, 1)
        self.edges = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Linear(4, 2)
        with torch.no_grad():
            for conv in (self.colour, self.edges):
                conv.weight.zero_()
                conv.bias.zero_()
            self.colour.weight[RED, :, 0, 0] = torch.tensor([1.0, -0.5, -0.5])
            self.colour.weight[GREEN, :, 0, 0] = torch.tensor([-0.5, 1.0, -0.5])
            self.colour.weight[DEAD, :, 0, 0] = 1.0
            self.colour.bias[DEAD] = -100.0
            self.edges.weight[EDGE, :, :, 0] = 1.0  # bright left of the centre column
            self.edges.weight[EDGE, :, :, 2] = -1.0  # dark right of it

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.colour(images) + self.edges(images))
        return self.head(x.mean(dim=(2, 3)))


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Renders are hundreds of tiny operations: one CPU thread each, as the runner gives them on a
    2-core machine (two spin-waiting threads on a busy machine take ten times as long)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def render(
    model: nn.Module,
    layer: str,
    units: list[int],
    *,
    previous: Optional[LayerState] = None,
    seed_of_run: int = 0,
    **settings: Any,
) -> LayerResult:
    """``units`` of ``layer`` rendered at ``SIDE`` pixels (96 steps unless ``settings`` say otherwise)."""
    options: dict[str, Any] = {"layers": [layer], "steps": 96, **settings}
    return optimize_layer(
        Probe(prepare_copy(copy.deepcopy(model)), layer),
        units,
        FeatureVis(**options),
        CENTRED,
        (SIDE, SIDE),
        3,
        generator=torch.Generator().manual_seed(seed_of_run),
        previous=previous,
    )


def colours(result: LayerResult) -> np.ndarray:
    """The mean colour of each image, ``[U, 3]`` in [0, 1]."""
    return result.images.float().numpy().mean(axis=(1, 2)) / 255


def gradient_energy(image: np.ndarray) -> tuple[float, float]:
    """Mean squared brightness difference between horizontal neighbours, and between vertical ones."""
    grey = image.astype(np.float64).mean(axis=2) / 255
    return float(np.mean(np.diff(grey, axis=1) ** 2)), float(np.mean(np.diff(grey, axis=0) ** 2))


@pytest.fixture(scope="module")
def colour_units() -> LayerResult:
    # The pre-activation: every pixel's colour counts, so the whole image takes the colour.
    return render(Detectors(), "colour", [RED, GREEN], steps=192)


@pytest.fixture(scope="module")
def rectified_units() -> LayerResult:
    return render(Detectors(), "relu", [EDGE, DEAD])


def test_a_red_unit_gets_a_red_image_and_a_green_one_a_green_image(colour_units):
    red, green = colours(colour_units)
    assert red[0] > red[1] + 0.2 and red[0] > red[2] + 0.2, red
    assert green[1] > green[0] + 0.2 and green[1] > green[2] + 0.2, green
    assert (colour_units.objective > 1).all() and not colour_units.no_signal.any()


def test_a_vertical_edge_unit_gets_vertical_stripes(rectified_units):
    across, down = gradient_energy(rectified_units.images[0].numpy())
    assert across > 2 * down, (across, down)


def test_a_unit_that_never_fires_has_no_signal_and_the_others_do(rectified_units):
    assert rectified_units.no_signal.tolist() == [False, True]
    assert rectified_units.objective[1] == 0.0 and rectified_units.objective[0] > 1
    assert rectified_units.images.shape == (2, SIDE, SIDE, 3) and rectified_units.images.dtype == torch.uint8
    assert rectified_units.units == [EDGE, DEAD] and rectified_units.steps == 96 and not rectified_units.warm.any()


def test_the_toolbox_method_finds_the_colours_too():
    result = render(Detectors(), "relu", [RED, GREEN, DEAD], method="toolbox", steps=40)
    red, green, _ = colours(result)
    assert red[0] > red[1] + 0.3 and red[0] > red[2] + 0.3, red
    assert green[1] > green[0] + 0.3 and green[1] > green[2] + 0.3, green
    assert result.no_signal.tolist() == [False, False, True]
    clipped = render(
        Detectors(),
        "relu",
        [RED],
        method="toolbox",
        steps=8,
        small_norm_percentile=50,
        small_contribution_percentile=20,
    )
    assert clipped.images.shape == (1, SIDE, SIDE, 3)


def test_a_unit_dead_for_the_first_image_moves_thanks_to_the_redirected_gradient():
    # Dead at grey (-0.2) but not for every image: a bright enough image makes it fire.
    model = Detectors()
    with torch.no_grad():
        model.colour.bias[DEAD] = -0.2
        model.colour.weight[DEAD, :, 0, 0] = 0.2
    revived = render(model, "relu", [DEAD], steps=48)
    assert not revived.no_signal[0] and revived.objective[0] > 0
    stuck = render(model, "relu", [DEAD], steps=48, redirect_steps=0)
    assert stuck.no_signal[0] and stuck.objective[0] == 0


def test_warm_start_continues_each_unit_from_its_previous_parameters():
    model = Detectors()
    first = render(model, "relu", [RED, GREEN, EDGE], warm_steps=24)
    # The same weights: continuing moves the images little; a fresh start elsewhere differs a lot.
    again = render(model, "relu", [EDGE, RED, GREEN], warm_steps=24, previous=first.state, seed_of_run=1)
    fresh = render(model, "relu", [RED, GREEN, EDGE], seed_of_run=1)
    assert again.warm.all() and again.steps == 24 and not fresh.warm.any()
    order = [1, 2, 0]  # again's units in first's order
    moved = (again.images[order].float() - first.images.float()).abs().mean() / 255
    apart = (fresh.images.float() - first.images.float()).abs().mean() / 255
    assert moved < 0.05 and apart > 3 * moved, (float(moved), float(apart))
    # A unit new to the selection starts cold, and then every unit runs the full steps.
    mixed = render(model, "relu", [RED, DEAD], warm_steps=24, previous=first.state)
    assert mixed.warm.tolist() == [True, False] and mixed.steps == 96


def test_rendering_uses_its_own_generator_never_the_global_rng():
    model = Detectors()  # initialized by the global RNG, before its state is taken
    torch.manual_seed(123)
    before = torch.get_rng_state()
    one = render(model, "relu", [EDGE], steps=8)
    assert torch.equal(torch.get_rng_state(), before)
    two = render(model, "relu", [EDGE], steps=8)
    assert torch.equal(one.images, two.images), "the same seed renders the same images"


def test_a_linear_unit_and_a_grey_input_model_render():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 14 * 14, 3))
    result = optimize_layer(
        Probe(prepare_copy(model), "3"),
        [0, 2],
        FeatureVis(layers=["3"], steps=4),
        InputMap((0.5,), (0.25,), learned=False),
        (16, 16),
        1,
        generator=torch.Generator().manual_seed(0),
    )
    assert result.images.shape == (2, 16, 16, 3)
    assert torch.equal(result.images[..., 0], result.images[..., 2]), "grey images are grey"


def test_the_copy_drops_this_packages_hooks_and_the_gradients_and_keeps_the_users():
    model = Detectors()
    seen: list[str] = []
    model.colour.register_forward_hook(lambda module, inputs, output: seen.append("user"))
    recording = capture.LastOutputs({"colour": model.colour})
    model(torch.zeros(1, 3, 4, 4)).sum().backward()
    assert model.colour.weight.grad is not None and "colour" in recording.latest
    duplicate = copy_model(model)
    recording.latest.clear()
    seen.clear()
    duplicate(torch.zeros(1, 3, 4, 4))
    assert seen == ["user"] and recording.latest == {}
    assert all(p.grad is None and not p.requires_grad for p in duplicate.parameters())
    assert not duplicate.training and not duplicate.relu.inplace
    assert model.training and model.relu.inplace and model.colour.weight.requires_grad
    recording.remove()


def test_the_input_map_learned_from_the_eval_set_takes_grey_to_its_mean():
    learned = InputMap.from_eval_statistics([2.0, -1.0, 0.0], [4.0, 0.5, 0.0])
    mean, std = (torch.tensor(v) for v in (learned.mean, learned.std))
    assert torch.allclose((0.5 - mean) / std, torch.tensor([2.0, -1.0, 0.0]))
    # An image 0.25 above grey lands one eval standard deviation above the eval mean (a constant
    # channel counts as standard deviation 1).
    assert torch.allclose((0.75 - mean) / std, torch.tensor([6.0, -0.5, 1.0]))
    assert learned.describe()["learned"] is True


def test_the_fourier_parameterization_gives_images_in_range_weighted_to_low_frequencies():
    generator = torch.Generator().manual_seed(0)
    spectrum = FourierImages.initial(2, 3, 12, 9, generator, torch.device("cpu"))
    images = FourierImages(spectrum, 12, 9).images()
    assert images.shape == (2, 3, 12, 9) and images.min() > 0 and images.max() < 1
    scale = spectrum_scale(12, 9)
    assert scale.shape == (12, 5) and scale[0, 0] == 12 and scale[0, 0] == scale.max()
    pixels = PixelImages(PixelImages.initial(2, 3, 5, 5, generator, torch.device("cpu")))
    assert pixels.images().shape == (2, 3, 5, 5)


def test_gaussian_blur_keeps_a_constant_image_and_spreads_a_point():
    constant = torch.full((1, 3, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(constant, 1.0), constant)
    point = torch.zeros((1, 1, 9, 9))
    point[0, 0, 4, 4] = 1.0
    blurred = gaussian_blur(point, 1.0)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-2) and blurred[0, 0, 4, 4] < 0.2
    assert torch.allclose(blurred, blurred.flip(-1)) and torch.allclose(blurred, blurred.transpose(-1, -2))


def test_random_views_keep_the_image_centre_and_are_grey_outside_it():
    robustness = Robustness.for_size(32, 32)
    assert (robustness.pad, robustness.jitter, robustness.second_jitter) == (2, 2, 1)
    generator = torch.Generator().manual_seed(0)
    red = torch.zeros((8, 3, 32, 32))
    red[:, 0] = 1.0
    views = robustness(red, generator)
    assert views.shape == red.shape
    assert torch.allclose(views[:, :, 12:20, 12:20], red[:, :, 12:20, 12:20], atol=1e-5)
    grey = torch.full((8, 3, 32, 32), 0.5)
    assert torch.allclose(robustness(grey, generator), grey, atol=1e-6)
    # The whole image is in view: its frame is grey around it.
    corners = views[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners[:, 1] > 0.2).any(), "some grey pad reaches the view's corners"


def test_settings_refuse_wrong_values_naming_them():
    for arguments, message in [
        ({"layers": []}, "non-empty list of module names"),
        ({"layers": ["a", "a"]}, "name a layer twice"),
        ({"layers": ["a"], "units": 0}, "units must be a positive integer"),
        ({"layers": ["a"], "every": 1.5}, "every must be a positive integer"),
        ({"layers": ["a"], "method": "lucid"}, "method must be 'fourier' or 'toolbox'"),
        ({"layers": ["a"], "size": 4}, "size must be an integer or"),
        ({"layers": ["a"], "normalization": ([0.5], [0.0])}, "positive stds"),
        ({"layers": ["a"], "normalization": ([0.5, 0.5], [1.0])}, "of equal length"),
        ({"layers": ["a"], "decay": 1.0}, "decay must be a number in"),
        ({"layers": ["a"], "small_norm_percentile": 100}, "small_norm_percentile must be"),
        ({"layers": ["a"], "lr": 0}, "lr must be a positive number"),
    ]:
        with pytest.raises(ValueError, match=message):
            FeatureVis(**arguments)
    settings = FeatureVis(layers="conv", size=24)
    assert settings.layers == ("conv",) and settings.size == (24, 24)
    assert (settings.total_steps, settings.continued_steps, settings.learning_rate) == (512, 128, 0.05)
    toolbox = FeatureVis(layers=["conv"], method="toolbox", warm_steps=10)
    assert (toolbox.total_steps, toolbox.continued_steps) == (1000, 10)
    with pytest.raises(ValueError, match="1- or 3-channel images; the eval images have 4"):
        settings.check_channels(4)


def test_the_render_runs_on_another_thread_like_on_this_one():
    model = Detectors()
    results = []
    thread = threading.Thread(target=lambda: results.append(render(model, "relu", [EDGE], steps=8)))
    thread.start()
    thread.join()
    assert torch.equal(results[0].images, render(model, "relu", [EDGE], steps=8).images)
