"""Receptive fields of layer outputs in input pixels, found generically from input gradients.

Which input pixels can change a unit's output at one position? For any architecture built of
translation-equivariant layers (convolutions, pooling, normalization, residual additions) the
answer is a box that moves by the layer's stride when the position moves by one. Rather than
reading kernel sizes and strides from a table of known modules, this module measures it: the
support of the gradient of a layer's output at one position with respect to the input is the
receptive field there. ReLU gates and max-pooling pass gradient to only some pixels of one image,
so the support is taken over several images (and summed over channels) and its bounding box used.
Two positions, one step apart diagonally, give the stride; a box is then computed for any position
and clipped to the image.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from . import capture

# Images whose gradient supports are combined: enough that gates and pooling choices cover the field.
SUPPORT_IMAGES = 8


@dataclasses.dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a layer's output positions, in input pixels.

    Args:
      input_shape: ``(H, W)`` of the model's input.
      output_shape: ``(h, w)`` of the layer's output grid; ``(1, 1)`` for a layer without one.
      reference: the output position ``(row, col)`` whose box was measured.
      box: ``(top, left, bottom, right)`` at ``reference``, bottom and right exclusive, unclipped
        where it was measured inside the image.
      stride: input pixels the box moves per output position, ``(rows, cols)``.
    """

    input_shape: tuple[int, int]
    output_shape: tuple[int, int]
    reference: tuple[int, int]
    box: tuple[int, int, int, int]
    stride: tuple[float, float]

    def boxes(self, positions: np.ndarray) -> np.ndarray:
        """Boxes ``[..., 4]`` (top, left, bottom, right; int) of output positions ``[..., 2]`` (row, col), clipped."""
        positions = np.asarray(positions, dtype=np.float64)
        rows = positions[..., 0] - self.reference[0]
        cols = positions[..., 1] - self.reference[1]
        top, left, bottom, right = self.box
        height, width = self.input_shape
        boxes = np.stack(
            [
                np.clip(np.rint(top + rows * self.stride[0]), 0, height - 1),
                np.clip(np.rint(left + cols * self.stride[1]), 0, width - 1),
                np.clip(np.rint(bottom + rows * self.stride[0]), 1, height),
                np.clip(np.rint(right + cols * self.stride[1]), 1, width),
            ],
            axis=-1,
        )
        # A box clipped to nothing still shows its nearest pixel.
        boxes[..., 2] = np.maximum(boxes[..., 2], boxes[..., 0] + 1)
        boxes[..., 3] = np.maximum(boxes[..., 3], boxes[..., 1] + 1)
        return boxes.astype(np.int64)


def whole_image(input_shape: tuple[int, int]) -> ReceptiveField:
    """The field of a unit that sees every pixel (a linear layer's output)."""
    height, width = input_shape
    return ReceptiveField(input_shape, (1, 1), (0, 0), (0, 0, height, width), (0.0, 0.0))


def measure_receptive_fields(
    model: nn.Module, images: torch.Tensor, layers: Sequence[str]
) -> dict[str, ReceptiveField]:
    """Measure the receptive field of each layer's output from input-gradient supports.

    Runs one forward pass over a few of ``images`` with gradients on (call it where the model's
    mode, the RNG and parameter gradients are already protected: only ``torch.autograd.grad`` is
    used, so no ``.grad`` changes). Layers whose output has no spatial grid (a linear layer, or
    rank other than 4) see the whole image.

    Args:
      model: the model, on ``images``' device.
      images: ``[N, C, H, W]`` eval images; the first ``SUPPORT_IMAGES`` are used.
      layers: module names.

    Returns:
      One ``ReceptiveField`` per layer that ran in the forward pass.
    """
    height, width = int(images.shape[-2]), int(images.shape[-1])
    sample = images[:SUPPORT_IMAGES].detach().clone().requires_grad_(True)
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(module: nn.Module, inputs: object, output: object) -> Optional[torch.Tensor]:
            tensor = capture.first_tensor(output)
            if tensor is None or name in outputs:
                return None
            # A copy leaves the model's own tensor to later in-place operations; ours stays intact.
            outputs[name] = tensor
            return tensor.clone() if isinstance(output, torch.Tensor) else None

        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in layers if name in modules]
    try:
        with torch.enable_grad():
            model(sample)
            fields: dict[str, ReceptiveField] = {}
            for name in layers:
                output = outputs.get(name)
                if output is None:
                    continue
                if output.ndim != 4 or not output.requires_grad:
                    fields[name] = whole_image((height, width))
                    continue
                fields[name] = _measure(output, sample, (height, width))
    finally:
        for handle in handles:
            handle.remove()
    return fields


def _support_box(output: torch.Tensor, sample: torch.Tensor, row: int, col: int) -> Optional[tuple[int, int, int, int]]:
    """Bounding box of the input pixels whose gradient is non-zero for ``output[:, :, row, col]``."""
    (gradient,) = torch.autograd.grad(output[:, :, row, col].sum(), sample, retain_graph=True, allow_unused=True)
    if gradient is None:
        return None
    support = (gradient != 0).any(dim=0).any(dim=0)  # [H, W]
    rows = torch.nonzero(support.any(dim=1)).flatten()
    cols = torch.nonzero(support.any(dim=0)).flatten()
    if not len(rows) or not len(cols):
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _measure(output: torch.Tensor, sample: torch.Tensor, input_shape: tuple[int, int]) -> ReceptiveField:
    """The field at output position (0, 0), unclipped, and the stride, from the boxes of a few positions.

    A box cut by the image's edge says nothing about how far it would reach beyond it, so each
    edge of the field is taken from a position whose box that edge does not touch: the first
    position's bottom and right, the last position's top and left, or the centre's.
    """
    height, width = input_shape
    out_h, out_w = int(output.shape[-2]), int(output.shape[-1])
    centre = (max(0, (out_h - 1) // 2), max(0, (out_w - 1) // 2))
    measured = {
        position: _support_box(output, sample, *position) for position in {(0, 0), centre, (out_h - 1, out_w - 1)}
    }
    boxes = {position: box for position, box in measured.items() if box is not None}
    if not boxes:  # no gradient reaches the input (a constant layer): say it sees everything
        return ReceptiveField(input_shape, (out_h, out_w), (0, 0), (0, 0, height, width), (0.0, 0.0))
    stride = [height / out_h, width / out_w]
    if centre[0] + 1 < out_h and centre[1] + 1 < out_w and centre in boxes:
        step = _support_box(output, sample, centre[0] + 1, centre[1] + 1)
        here = boxes[centre]
        if step is not None and all(b[0] > 0 and b[1] > 0 and b[2] < height and b[3] < width for b in (here, step)):
            stride = [float(step[0] - here[0]), float(step[1] - here[1])]

    def edge(side: int, limit: int, axis: int) -> float:
        """The unclipped ``side`` of position 0's box, from any box whose that side is inside the image.

        When every box reaches the image's edge on that side, so does every position's: an edge
        one image beyond it makes that so after clipping.
        """
        for (row, col), box in boxes.items():
            if 0 < box[side] < limit:
                return box[side] - (row, col)[axis] * stride[axis]
        beyond = stride[axis] * (out_h, out_w)[axis] + limit
        return -beyond if side < 2 else beyond

    top, left = edge(0, height, 0), edge(1, width, 1)
    bottom, right = edge(2, height, 0), edge(3, width, 1)
    return ReceptiveField(
        input_shape,
        (out_h, out_w),
        (0, 0),
        (round(top), round(left), round(bottom), round(right)),
        (stride[0], stride[1]),
    )
