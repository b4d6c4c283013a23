"""``FeatureVis``: what feature visualization renders, how often and how, checked once when ``DeepViz`` starts.

Feature visualization renders, for each selected unit of a layer, an input image that excites the
unit most: gradient ascent in image space under regularizers (Olah et al., "Feature
Visualization", Distill 2017; Yosinski et al., "Understanding Neural Networks Through Deep
Visualization", 2015). Its defaults follow Lucent's ``render_vis`` (Fourier-scaled, decorrelated
colour parameterization; Adam, learning rate 0.05, 512 steps; pad, jitter, scale and rotation
robustness), adapted to small inputs: the image is optimized at the model's own input size instead
of being upsampled to 224 pixels, which is what makes CIFAR-sized renderings blurry
(greentfrapp/lucent#10). The alternative ``method="toolbox"`` is the Deep Visualization
Toolbox's plain gradient ascent with explicit regularizers, at its paper's setting 3.

This module holds only the settings and their checks (no torch), so ``DeepViz`` can refuse wrong
arguments with a ``ValueError`` naming the problem before anything runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Sequence, Union

METHODS = ("fourier", "toolbox")

# Lucent render_vis (lucent/optvis/render.py): thresholds=(512,), Adam(lr=5e-2).
FOURIER_STEPS = 512
FOURIER_LR = 0.05
# The Deep Visualization Toolbox's paper, setting 3 ("used for most of the images in the paper",
# doc/running-optimize-image.md): decay 1e-4, blur radius 1.0 every 4 steps, 1,000 steps.
TOOLBOX_STEPS = 1000
TOOLBOX_DECAY = 1e-4
TOOLBOX_BLUR_RADIUS = 1.0
TOOLBOX_BLUR_EVERY = 4
# The toolbox's constant learning rate (100) is in Caffe's 0..255 pixel units and tuned to
# CaffeNet's gradients; here each step is the gradient divided by its root mean square per image,
# times this rate, in [0, 1] image units, so that one rate suits every model.
TOOLBOX_LR = 0.01
# Lucid's render_vis redirects ReLU gradients "for at most 16 steps" (relu_gradient_override).
REDIRECT_STEPS = 16
# A warm-started checkpoint continues from the previous one's parameters and optimizer state:
# a quarter of the steps keeps the film coherent and follows the weights' change (see
# benchmarks/RESULTS.md, "Feature visualization").
WARM_FRACTION = 4
DEFAULT_UNITS = 64


@dataclasses.dataclass(frozen=True)
class FeatureVis:
    """Settings of feature visualization: which layers and units, how often, and the method.

    ``DeepViz(..., feature_vis=["conv1", "layer3"])`` is ``FeatureVis(layers=["conv1", "layer3"])``.
    It runs on a copy of the model in a background thread and never blocks or changes training
    (docs/ARCHITECTURE.md, section 4).

    Args:
      layers: module names from ``model.named_modules()`` whose output is ``[batch, channels, h, w]``
        (a unit is a channel; its objective is the channel's mean) or ``[batch, features]`` (a unit
        is one output).
      units: units per layer: all of them up to this many; a layer with more keeps the ``units``
        with the largest activation variance over the eval set at the first checkpoint rendered,
        and keeps them for the whole run (so that each unit's images form a film).
      every: render at the first checkpoint and then at every ``every``-th checkpoint. One job
        runs at a time: a checkpoint due while the previous job still runs is deferred to the next
        checkpoint, and the records are written at the step whose weights they used.
      steps: optimization steps from a fresh start (default 512 for ``"fourier"``, 1,000 for
        ``"toolbox"``).
      warm_steps: steps at later checkpoints, which continue from the previous checkpoint's image
        parameters and optimizer state of the same unit (default a quarter of ``steps``).
      size: image side ``int`` or ``(height, width)``; default the model's input size (the eval
        images'). Another size needs a model that accepts it.
      method: ``"fourier"`` (decorrelated colour, Fourier-scaled spectrum, Adam, transformation
        robustness) or ``"toolbox"`` (pixel-space gradient ascent with L2 decay, Gaussian blur and
        optional pixel clipping).
      normalization: ``(mean, std)`` per input channel such that the model's input is
        ``(image - mean) / std`` for an image in [0, 1] (torchvision's ``Normalize``). Default:
        learned from the eval set, as the affine map per channel that takes an image with mean
        0.5 and standard deviation 0.25 to the eval images' mean and standard deviation.
      lr: learning rate (default 0.05 for Adam with ``"fourier"``, 0.01 per normalized step
        with ``"toolbox"``).
      decay: ``"toolbox"`` only: L2 decay toward grey per step (default 1e-4).
      blur_radius: ``"toolbox"`` only: Gaussian blur sigma in pixels (default 1.0; 0 turns it off).
      blur_every: ``"toolbox"`` only: blur every this many steps (default 4).
      small_norm_percentile: ``"toolbox"`` only: after each step, pixels whose norm over colours
        is below this percentile of the image's are set to grey (default 0: off).
      small_contribution_percentile: ``"toolbox"`` only: pixels whose contribution to the
        objective (``|sum over colours of gradient x pixel|``) is below this percentile are set to
        grey (default 0: off).
      redirect_steps: steps at the start of each optimization during which the gradient of every
        ``nn.ReLU`` module is redirected so that units that start dead can move (default 16).
      seed: seed of the optimization's own random generator (the global RNG is never used).

    Raises:
      ValueError: for a wrong argument, naming it.
    """

    layers: Sequence[str]
    units: int = DEFAULT_UNITS
    every: int = 1
    steps: Optional[int] = None
    warm_steps: Optional[int] = None
    size: Union[int, Sequence[int], None] = None
    method: str = "fourier"
    normalization: Optional[tuple[Sequence[float], Sequence[float]]] = None
    lr: Optional[float] = None
    decay: float = TOOLBOX_DECAY
    blur_radius: float = TOOLBOX_BLUR_RADIUS
    blur_every: int = TOOLBOX_BLUR_EVERY
    small_norm_percentile: float = 0.0
    small_contribution_percentile: float = 0.0
    redirect_steps: int = REDIRECT_STEPS
    seed: int = 0

    def __post_init__(self) -> None:
        layers = [self.layers] if isinstance(self.layers, str) else self.layers
        if not isinstance(layers, Sequence) or not layers or not all(isinstance(n, str) and n for n in layers):
            raise ValueError(f"feature_vis layers must be a non-empty list of module names, got {self.layers!r}")
        if len(set(layers)) != len(layers):
            raise ValueError(f"feature_vis layers name a layer twice: {list(layers)}")
        object.__setattr__(self, "layers", tuple(layers))
        if self.method not in METHODS:
            raise ValueError(f"feature_vis method must be 'fourier' or 'toolbox', got {self.method!r}")
        for name in ("units", "every", "blur_every"):
            _positive_int(name, getattr(self, name))
        for name in ("steps", "warm_steps"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        if isinstance(self.redirect_steps, bool) or not isinstance(self.redirect_steps, int) or self.redirect_steps < 0:
            raise ValueError(f"feature_vis redirect_steps must be a non-negative integer, got {self.redirect_steps!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"feature_vis seed must be an integer, got {self.seed!r}")
        object.__setattr__(self, "size", _size(self.size))
        if self.lr is not None:
            _positive_number("lr", self.lr)
        if not _number(self.decay) or not 0 <= self.decay < 1:
            raise ValueError(f"feature_vis decay must be a number in [0, 1), got {self.decay!r}")
        if not _number(self.blur_radius) or self.blur_radius < 0:
            raise ValueError(f"feature_vis blur_radius must be a non-negative number, got {self.blur_radius!r}")
        for name in ("small_norm_percentile", "small_contribution_percentile"):
            value = getattr(self, name)
            if not _number(value) or not 0 <= value < 100:
                raise ValueError(f"feature_vis {name} must be a number in [0, 100), got {value!r}")
        object.__setattr__(self, "normalization", _normalization(self.normalization))

    # ------------------------------------------------------------- resolved defaults

    @property
    def total_steps(self) -> int:
        """Steps from a fresh start."""
        if self.steps is not None:
            return self.steps
        return FOURIER_STEPS if self.method == "fourier" else TOOLBOX_STEPS

    @property
    def continued_steps(self) -> int:
        """Steps when every unit continues from the previous checkpoint's parameters."""
        if self.warm_steps is not None:
            return self.warm_steps
        return max(1, self.total_steps // WARM_FRACTION)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the method."""
        if self.lr is not None:
            return float(self.lr)
        return FOURIER_LR if self.method == "fourier" else TOOLBOX_LR

    def image_size(self, input_shape: Sequence[int]) -> tuple[int, int]:
        """``(H, W)`` of the images: ``size``, or the model's input size ``input_shape``."""
        size = self.size if self.size is not None else input_shape
        assert isinstance(size, Sequence)  # __post_init__ made an int a pair
        return int(size[0]), int(size[1])

    def check_channels(self, channels: int) -> None:
        """Refuse a model input the parameterization cannot draw, or a normalization of another length."""
        if channels not in (1, 3):
            raise ValueError(f"feature visualization draws 1- or 3-channel images; the eval images have {channels}")
        if self.normalization is not None:
            mean, _ = self.normalization
            if len(mean) != channels:
                raise ValueError(
                    f"feature_vis normalization has {len(mean)} values per statistic for {channels}-channel images"
                )


def feature_vis_settings(value: Any) -> Optional[FeatureVis]:
    """``DeepViz``'s ``feature_vis`` argument as settings: None, a list of layer names, or ``FeatureVis``."""
    if value is None:
        return None
    if isinstance(value, FeatureVis):
        return value
    if isinstance(value, (str, Sequence)):
        return FeatureVis(layers=value)
    raise ValueError(f"feature_vis must be a list of layer names, a FeatureVis or None, got {type(value).__name__}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"feature_vis {name} must be a positive integer, got {value!r}")


def _positive_number(name: str, value: Any) -> None:
    if not _number(value) or value <= 0:
        raise ValueError(f"feature_vis {name} must be a positive number, got {value!r}")


def _size(value: Any) -> Optional[tuple[int, int]]:
    if value is None:
        return None
    sides = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(sides, Sequence)
        or len(sides) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 8 for s in sides)
    ):
        raise ValueError(f"feature_vis size must be an integer or (height, width) of at least 8 pixels, got {value!r}")
    return int(sides[0]), int(sides[1])


def _normalization(value: Any) -> Optional[tuple[tuple[float, ...], tuple[float, ...]]]:
    if value is None:
        return None
    if not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"feature_vis normalization must be (mean, std) per channel, got {value!r}")
    try:
        mean, std = ([float(v) for v in part] if isinstance(part, Sequence) else None for part in value)
    except (TypeError, ValueError):
        raise ValueError(f"feature_vis normalization must be (mean, std) of numbers, got {value!r}") from None
    if mean is None or std is None or len(mean) != len(std) or not mean:
        raise ValueError(f"feature_vis normalization must be (mean, std) of equal length, got {value!r}")
    if not all(math.isfinite(m) for m in mean) or not all(math.isfinite(s) and s > 0 for s in std):
        raise ValueError(f"feature_vis normalization needs finite means and positive stds, got {value!r}")
    return tuple(mean), tuple(std)
