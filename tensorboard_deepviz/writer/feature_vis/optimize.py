"""The optimization itself: every selected unit of a layer rendered at once, one image per unit in one batch.

Batch index ``i`` holds unit ``units[i]``'s image, and its objective is that unit's response to
it: the mean of the unit's channel for a spatial output ``[batch, C, h, w]`` (Lucent's
``"layer:n"`` objective), the unit's value for ``[batch, F]``. The loss is minus the sum of the
objectives: in eval mode (the copy the runner hands in) the images of a batch do not interact, so
each image's gradient is its own unit's, and a whole layer costs one forward and backward pass per
step instead of one per unit.

What else happens at each step, and why:

* the forward pass stops at the layer (a hook raises once it has the output), so rendering an
  early layer costs only the layers before it;
* for the first ``redirect_steps`` steps, every ``nn.ReLU`` module passes gradient where it would
  raise a negative input, for images whose ordinary ReLU gradient is zero (Lucid's
  ``redirected_relu_grad``): a unit that is dead for the starting image can still move. A unit
  whose objective never moves at all (dead for every image the optimization reached, or
  constant) is marked ``no_signal``: its image is the starting noise and means nothing;
* images are mapped from [0, 1] into the model's input space by ``InputMap`` (the eval set's
  statistics or the user's normalization);
* ``"fourier"``: the spectrum is the parameter (``parameterization.FourierImages``), each view is
  randomly transformed (``transforms.Robustness``), and the step is Adam's (implemented here so
  its moments are per unit and can be kept for the next checkpoint);
* ``"toolbox"``: the pixels are the parameter, there are no transformations, the step is the
  gradient divided by its root mean square per image, then the toolbox's regularizers: L2 decay,
  Gaussian blur every few steps, clipping of small-norm and small-contribution pixels (Yosinski
  et al. 2015, ``optimize/gradient_optimizer.py``), and the image is kept in [0, 1].

Warm start: ``LayerState`` keeps each unit's parameters (and Adam's moments); a later call
continues from them, with ``continued_steps`` when every unit has them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from typing import Any, Iterator, Optional, Sequence, Union

import torch
from torch import nn

from .. import capture
from .parameterization import FourierImages, PixelImages, gaussian_blur
from .settings import FeatureVis
from .transforms import Robustness

# Adam's constants (torch.optim.Adam's defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
# A unit whose objective moved by no more than this fraction of its largest magnitude over the
# whole optimization has no signal (a dead or constant unit moves by exactly 0).
NO_SIGNAL_TOLERANCE = 1e-6
# The eval images are taken to be [0, 1] images of this mean and standard deviation per channel,
# brought into the model's input space by an affine map (ImageNet's are 0.45 and 0.23,
# CIFAR-10's 0.47 and 0.25).
REFERENCE_MEAN = 0.5
REFERENCE_STD = 0.25

Images = Union[FourierImages, PixelImages]


@dataclasses.dataclass(frozen=True)
class InputMap:
    """How an image in [0, 1] becomes the model's input: ``(image - mean) / std`` per channel.

    Args:
      mean, std: one value per input channel.
      learned: True when they come from the eval set (``from_eval_statistics``), False when the
        user gave them.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    learned: bool

    @staticmethod
    def from_eval_statistics(mean: Sequence[float], std: Sequence[float]) -> InputMap:
        """The map that takes an image of mean 0.5 and std 0.25 per channel to the eval set's mean and std.

        Model input = eval mean + (eval std / 0.25) (image - 0.5), that is ``(image - m) / s``
        with ``m = 0.5 - 0.25 mean / std`` and ``s = 0.25 / std``. A channel that is constant
        over the eval set gets ``std = 1``.
        """
        means, stds = [], []
        for mu, sigma in zip(mean, std):
            sigma = sigma if sigma > 1e-12 else 1.0
            means.append(REFERENCE_MEAN - REFERENCE_STD * mu / sigma)
            stds.append(REFERENCE_STD / sigma)
        return InputMap(tuple(means), tuple(stds), learned=True)

    def describe(self) -> dict[str, Any]:
        """The record's ``normalization`` field."""
        return {"mean": list(self.mean), "std": list(self.std), "learned": self.learned}

    def tensors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, len(self.mean), 1, 1)
        return (
            torch.tensor(self.mean, dtype=torch.float32, device=device).view(shape),
            torch.tensor(self.std, dtype=torch.float32, device=device).view(shape),
        )


@dataclasses.dataclass
class LayerState:
    """What warm start keeps of a layer between checkpoints, on the device.

    Attributes:
      units: ``[U]`` the units, in the rows' order.
      parameter: ``[U, ...]`` each unit's image parameters.
      exp_avg, exp_avg_sq: Adam's moments, like ``parameter`` (None for ``"toolbox"``).
      adam_steps: ``[U]`` Adam steps each unit has taken (float64).
      method: the method that made them.
      size: ``(H, W)`` of the images.
    """

    units: list[int]
    parameter: torch.Tensor
    exp_avg: Optional[torch.Tensor]
    exp_avg_sq: Optional[torch.Tensor]
    adam_steps: torch.Tensor
    method: str
    size: tuple[int, int]


@dataclasses.dataclass
class LayerResult:
    """One layer's rendering, on the CPU.

    Attributes:
      images: uint8 ``[U, H, W, 3]`` (grey images repeated over the three colours).
      units: the unit of each image.
      objective: float32 ``[U]`` each unit's objective on its final image, without transformations.
      no_signal: bool ``[U]`` units whose objective never moved.
      warm: bool ``[U]`` units that continued from the previous checkpoint's parameters.
      steps: steps run.
      seconds: wall-clock time of the optimization.
      state: what the next checkpoint continues from.
    """

    images: torch.Tensor
    units: list[int]
    objective: torch.Tensor
    no_signal: torch.Tensor
    warm: torch.Tensor
    steps: int
    seconds: float
    state: LayerState


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """Raised by the layer's hook once it has the output: the rest of the forward pass is not needed."""


class _RedirectedReLU(torch.autograd.Function):
    """ReLU whose gradient, for an image whose ordinary ReLU gradient is all zero, also flows where it raises a negative input."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        negative = x < 0
        ordinary = grad.masked_fill(negative, 0)
        # grad is of a loss being minimized: grad > 0 pushes the input down. Where the input is
        # already negative only pushes up pass.
        redirected = grad.masked_fill(negative & (grad > 0), 0)
        if x.ndim == 0:
            return ordinary
        flows = ordinary.reshape(len(ordinary), -1).abs().amax(dim=1) > 0
        return torch.where(flows.view(-1, *([1] * (x.ndim - 1))), ordinary, redirected)


class Probe:
    """Runs a prepared model copy up to one layer, with ReLU gradients redirected while ``redirect`` is set.

    Args:
      model: a copy owned by the caller, in eval mode with frozen parameters (``prepare_copy``).
      layer: the module name whose output is optimized.
    """

    def __init__(self, model: nn.Module, layer: str) -> None:
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(f"the model has no module {layer!r}")
        self.model = model
        self.layer = layer
        self.redirect = False
        self._module = modules[layer]
        self._relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]

    @contextlib.contextmanager
    def hooks(self) -> Iterator[list[torch.Tensor]]:
        """Install the stopping hook and the ReLU redirection; yields the list the output is put in."""
        captured: list[torch.Tensor] = []

        def stop(module: nn.Module, inputs: Any, output: Any) -> None:
            tensor = capture.first_tensor(output)
            if tensor is not None and not captured:
                captured.append(tensor)
                raise _Stop

        def relu(module: nn.Module, inputs: Any, output: Any) -> Optional[torch.Tensor]:
            if self.redirect and inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].requires_grad:
                result: torch.Tensor = _RedirectedReLU.apply(inputs[0])
                return result
            return None

        # The redirection first: when the layer is itself a ReLU, its output is the redirected one.
        handles = [module.register_forward_hook(relu) for module in self._relus]
        handles.append(self._module.register_forward_hook(stop))
        try:
            yield captured
        finally:
            for handle in handles:
                handle.remove()

    def output(self, captured: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        """The layer's output for ``images`` (inside ``hooks``)."""
        captured.clear()
        with contextlib.suppress(_Stop):
            self.model(images)
        if not captured:
            raise ValueError(f"layer {self.layer!r} did not run in the model's forward pass")
        return captured[0]


def prepare_copy(model: nn.Module) -> nn.Module:
    """Make a model copy ready for rendering, in place: eval mode, frozen parameters, no in-place ReLU.

    In-place ReLUs would overwrite the inputs the redirected gradient needs. Forward hooks and
    pre-hooks that this package installed on the original (``log_step``'s recording of layer
    outputs) are dropped: a copy must not report its forward passes as training's.
    """
    model.eval()
    model.requires_grad_(False)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
        for hooks in (module._forward_hooks, module._forward_pre_hooks):
            for key in [key for key, hook in hooks.items() if _is_ours(hook)]:
                del hooks[key]
    return model


def _is_ours(hook: Any) -> bool:
    return str(getattr(hook, "__module__", "") or "").startswith("tensorboard_deepviz.")


def unit_objectives(output: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """``[U]``: row ``i``'s response of unit ``units[i]`` (the mean over its positions)."""
    if output.ndim < 2:
        raise ValueError(
            f"feature visualization needs a layer output [batch, units, ...], got shape {list(output.shape)}"
        )
    rows = output[torch.arange(len(units), device=output.device), units]
    return rows.reshape(len(units), -1).float().mean(dim=1)


class _Adam:
    """Adam (torch.optim.Adam's update) with per-unit step counts, so each unit's state can be kept or dropped."""

    def __init__(self, parameter: torch.Tensor, lr: float, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor]):
        self.parameter = parameter
        self.lr = lr
        self.exp_avg, self.exp_avg_sq, self.steps = state

    def step(self, grad: torch.Tensor) -> None:
        beta1, beta2 = ADAM_BETAS
        self.steps += 1
        shape = (-1,) + (1,) * (self.parameter.ndim - 1)
        correction1 = (1 - beta1**self.steps).view(shape).to(self.parameter.dtype)
        correction2 = (1 - beta2**self.steps).view(shape).to(self.parameter.dtype)
        self.exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (self.exp_avg_sq.sqrt() / correction2.sqrt()).add_(ADAM_EPS)
        self.parameter.sub_(self.lr * self.exp_avg / correction1 / denominator)


def optimize_layer(
    probe: Probe,
    units: Sequence[int],
    settings: FeatureVis,
    input_map: InputMap,
    size: tuple[int, int],
    channels: int,
    *,
    generator: torch.Generator,
    previous: Optional[LayerState] = None,
) -> LayerResult:
    """Render ``units`` of ``probe``'s layer, one image each, as one batch.

    Args:
      probe: the prepared model copy and layer.
      units: the units (channels or features) to render.
      settings: the method and its parameters.
      input_map: from [0, 1] images to the model's input.
      size: ``(H, W)`` of the images.
      channels: the model's input channels (1 or 3).
      generator: the random generator of this optimization (CPU).
      previous: the layer's state from the previous checkpoint, if any: units found in it continue
        from their parameters.

    Returns:
      The images, objectives and flags on the CPU, and the state to continue from.
    """
    started = time.perf_counter()
    device = model_device(probe.model)
    dtype = model_dtype(probe.model)
    height, width = size
    count = len(units)
    unit_index = torch.tensor(list(units), dtype=torch.int64, device=device)
    fourier = settings.method == "fourier"
    make = FourierImages.initial if fourier else PixelImages.initial
    fresh = make(count, channels, height, width, generator, device)
    parameter, exp_avg, exp_avg_sq, adam_steps, warm = _continue(previous, units, settings, size, fresh)
    steps = settings.continued_steps if bool(warm.all()) else settings.total_steps

    mean, std = input_map.tensors(device)
    robustness = Robustness.for_size(height, width)
    parameter.requires_grad_(True)
    images: Images = FourierImages(parameter, height, width) if fourier else PixelImages(parameter)
    adam = _Adam(parameter, settings.learning_rate, (exp_avg, exp_avg_sq, adam_steps)) if fourier else None
    # Every step's random transformations, drawn at once: one host-to-device copy.
    matrices = (
        robustness.sample_matrices(steps * count, generator).view(steps, count, 2, 3).to(device) if fourier else None
    )
    low = torch.full((count,), torch.inf, device=device)
    high = torch.full((count,), -torch.inf, device=device)
    largest = torch.zeros(count, device=device)

    def to_model(view: torch.Tensor) -> torch.Tensor:
        return ((view - mean) / std).to(dtype)

    with probe.hooks() as captured, torch.enable_grad():
        for step in range(steps):
            probe.redirect = step < settings.redirect_steps
            picture = images.images()
            view = robustness.apply(picture, matrices[step]) if matrices is not None else picture
            objective = unit_objectives(probe.output(captured, to_model(view)), unit_index)
            with torch.no_grad():
                values = objective.detach()
                low, high = torch.minimum(low, values), torch.maximum(high, values)
                largest = torch.maximum(largest, values.abs())
            if not objective.requires_grad:  # the layer does not depend on the image: nothing to follow
                break
            (grad,) = torch.autograd.grad(-objective.sum(), [parameter])
            with torch.no_grad():
                if adam is not None:
                    adam.step(grad)
                else:
                    _toolbox_step(parameter, -grad, settings, step)
        probe.redirect = False
        with torch.no_grad():
            final_images = images.images().detach()
            final = unit_objectives(probe.output(captured, to_model(final_images)), unit_index)

    with torch.no_grad():
        low, high = torch.minimum(low, final), torch.maximum(high, final)
        largest = torch.maximum(largest, final.abs())
        no_signal = ~torch.isfinite(final) | ((high - low) <= NO_SIGNAL_TOLERANCE * largest)
        pixels = torch.nan_to_num(final_images.float(), nan=0.5).clamp(0, 1)
        if channels == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        as_bytes = (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
        state = _keep(units, parameter.detach(), adam, settings, size)
    result = LayerResult(
        images=as_bytes.cpu(),
        units=list(units),
        objective=final.float().cpu(),
        no_signal=no_signal.cpu(),
        warm=warm.cpu(),
        steps=steps,
        seconds=0.0,
        state=state,
    )
    result.seconds = time.perf_counter() - started  # after the copies to the host: the work is done
    return result


def _continue(
    previous: Optional[LayerState],
    units: Sequence[int],
    settings: FeatureVis,
    size: tuple[int, int],
    fresh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Starting parameters, Adam moments and steps: the previous state's rows for units it has, ``fresh`` for others."""
    count = len(units)
    device = fresh.device
    parameter = fresh.clone()
    exp_avg = torch.zeros_like(fresh)
    exp_avg_sq = torch.zeros_like(fresh)
    adam_steps = torch.zeros(count, dtype=torch.float64, device=device)
    warm = torch.zeros(count, dtype=torch.bool)
    usable = (
        previous is not None
        and previous.method == settings.method
        and previous.size == size
        and previous.parameter.shape[1:] == fresh.shape[1:]
    )
    if previous is None or not usable:
        return parameter, exp_avg, exp_avg_sq, adam_steps, warm
    rows = {unit: row for row, unit in enumerate(previous.units)}
    pairs = [(i, rows[unit]) for i, unit in enumerate(units) if unit in rows]
    if not pairs:
        return parameter, exp_avg, exp_avg_sq, adam_steps, warm
    target = torch.tensor([i for i, _ in pairs], device=device)
    source = torch.tensor([row for _, row in pairs], device=device)
    parameter[target] = previous.parameter[source].to(device)
    if previous.exp_avg is not None and previous.exp_avg_sq is not None:
        exp_avg[target] = previous.exp_avg[source].to(device)
        exp_avg_sq[target] = previous.exp_avg_sq[source].to(device)
        adam_steps[target] = previous.adam_steps[source].to(device)
    warm[[i for i, _ in pairs]] = True
    return parameter, exp_avg, exp_avg_sq, adam_steps, warm


def _keep(
    units: Sequence[int], parameter: torch.Tensor, adam: Optional[_Adam], settings: FeatureVis, size: tuple[int, int]
) -> LayerState:
    """The state to continue from, without the units whose parameters are no longer finite (they restart)."""
    finite = torch.isfinite(parameter.reshape(len(units), -1)).all(dim=1)
    if adam is not None:
        finite &= torch.isfinite(adam.exp_avg_sq.reshape(len(units), -1)).all(dim=1)
    keep = finite.nonzero().flatten()
    kept_units = [units[i] for i in keep.tolist()]
    return LayerState(
        units=kept_units,
        parameter=parameter[keep].clone(),
        exp_avg=adam.exp_avg[keep].clone() if adam is not None else None,
        exp_avg_sq=adam.exp_avg_sq[keep].clone() if adam is not None else None,
        adam_steps=adam.steps[keep].clone() if adam is not None else torch.zeros(len(keep), dtype=torch.float64),
        method=settings.method,
        size=size,
    )


def _toolbox_step(deviation: torch.Tensor, ascent: torch.Tensor, settings: FeatureVis, step: int) -> None:
    """One step of the toolbox's gradient ascent and regularizers, in place, on ``deviation [U, C, H, W]``.

    ``ascent`` is the objective's gradient. The order is the toolbox's: step, decay, blur every
    ``blur_every`` steps (from the first), small-norm clipping, small-contribution clipping; then
    the image is kept in [0, 1].
    """
    count = len(deviation)
    rms = ascent.pow(2).reshape(count, -1).mean(dim=1).sqrt().view(-1, 1, 1, 1)
    deviation.add_(settings.learning_rate * ascent / torch.where(rms > 0, rms, torch.ones_like(rms)))
    deviation.mul_(1 - settings.decay)
    if settings.blur_radius > 0 and step % settings.blur_every == 0:
        deviation.copy_(gaussian_blur(deviation, settings.blur_radius))
    if settings.small_norm_percentile > 0:
        norms = deviation.norm(dim=1)  # [U, H, W]
        deviation.mul_((norms >= _percentile(norms, settings.small_norm_percentile))[:, None])
    if settings.small_contribution_percentile > 0:
        # The toolbox's "absolute benefit": how much the objective would change if the pixel were grey.
        benefit = (ascent * -deviation).sum(dim=1).abs()
        deviation.mul_((benefit >= _percentile(benefit, settings.small_contribution_percentile))[:, None])
    deviation.clamp_(-0.5, 0.5)


def _percentile(values: torch.Tensor, percent: float) -> torch.Tensor:
    """Each image's ``percent``-th percentile of ``values [U, H, W]``, shaped ``[U, 1, 1]``."""
    flat = values.reshape(len(values), -1).float()
    return torch.quantile(flat, percent / 100.0, dim=1).view(-1, 1, 1).to(values.dtype)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
    tensors: Iterator[torch.Tensor] = itertools.chain(model.parameters(), model.buffers())
    first = next(tensors, None)
    return first.device if first is not None else torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter (float32 when it has none)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
