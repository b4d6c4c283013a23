"""Transformation robustness: each optimization step shows the model a randomly moved, zoomed and turned view.

An image that excites a unit only at one exact pixel alignment is an adversarial pattern, not a
feature. Lucid's and Lucent's ``standard_transforms`` therefore transform the image randomly at
every step: pad by 12 pixels of grey, jitter by up to 8, scale by 0.9 to 1.1, rotate by up to 10
degrees, jitter by up to 4 (for 128-pixel images, upsampled to 224 after). Here the same chain is
scaled to the model's own input size (pad and the first jitter about 1/20 of the side, the second
half that) and applied as one affine resampling per image, each unit's image with its own random
draw:

* the image is padded with grey (0.5) into a frame about 1/10 wider, transformed, and the whole
  frame is resampled to the input's size, so that the model always sees the whole image (about
  0.9 of the frame, as Lucent's 128-pixel image is of its 152-pixel frame) and a shape it was
  trained on (a linear layer after a flatten needs it); nothing is upsampled to 224;
* Lucent's shifts are positive only (0 to d - 1 pixels), ours are symmetric and continuous; its
  rotation angles favour 0, ours are uniform;
* the composition is sampled once (bilinear), rather than resampled after each transform.

Random numbers come from the caller's generator on the CPU, never from the global RNG.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

SCALE_RANGE = (0.9, 1.1)  # Lucent random_scale: 1 + (i - 5) / 50 for i in 0..10
ROTATION_DEGREES = 10.0  # Lucent random_rotate: -10..10 degrees
# Pad and the first jitter as a fraction of the image's side (Lucent: 12 and 8 pixels of 128,
# 1/11 and 1/16), the second jitter half of it (Lucent: 4 of 128).
JITTER_FRACTION = 1.0 / 20.0
GREY = 0.5


@dataclasses.dataclass(frozen=True)
class Robustness:
    """The random transformations of one image size.

    Args:
      height, width: the images' size in pixels.
      pad: grey border in pixels the transformations may reveal (the first jitter's reach).
      jitter: the first shift's largest magnitude in pixels, per axis.
      second_jitter: the last shift's largest magnitude in pixels, per axis.
    """

    height: int
    width: int
    pad: int
    jitter: int
    second_jitter: int

    @staticmethod
    def for_size(height: int, width: int) -> Robustness:
        """Lucent's chain scaled to an image of ``height`` x ``width`` pixels (at least 1 pixel each)."""
        side = max(height, width)
        first = max(1, round(side * JITTER_FRACTION))
        return Robustness(height, width, pad=first, jitter=first, second_jitter=max(1, round(first / 2)))

    def sample_matrices(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``[count, 2, 3]`` affine matrices for ``F.affine_grid``: output coordinates to the image's, normalized.

        Each image is padded to a frame ``pad`` pixels wider on every side, shifted by ``t1``
        (within the pad), zoomed by ``s`` and turned by ``a`` about the centre, shifted by ``t2``,
        and the frame is resampled to the image's size. An output pixel ``p`` (frame pixels)
        samples the frame at ``(R(-a) / s) (p - t2) - t1``.
        """
        uniform = torch.rand((count, 6), generator=generator, dtype=torch.float64)
        low, high = SCALE_RANGE
        scale = low + (high - low) * uniform[:, 0]
        angle = torch.deg2rad((2 * uniform[:, 1] - 1) * ROTATION_DEGREES)
        reach = min(self.jitter, self.pad)
        first = (2 * uniform[:, 2:4] - 1) * reach  # pixels (x, y)
        second = (2 * uniform[:, 4:6] - 1) * self.second_jitter
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        # The inverse map in the padded frame's pixels: frame = A (output - second) - first, with
        # A = R(-angle) / scale.
        a = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # [count, 2, 2]
        offset = -(a @ second[:, :, None])[:, :, 0] - first
        # Pixels to affine_grid's normalized coordinates (align_corners=False) of the frame, whose
        # whole extent is the output: x_n = x_px * 2 / frame width.
        frame = torch.tensor([self.width + 2.0 * self.pad, self.height + 2.0 * self.pad], dtype=torch.float64)
        half = frame / 2
        a_normalized = a * half[None, None, :] / half[None, :, None]
        matrices = torch.cat([a_normalized, (offset / half)[:, :, None]], dim=2)
        # The frame's normalized coordinates to the image's: the image is its centre.
        to_image = frame / torch.tensor([float(self.width), float(self.height)], dtype=torch.float64)
        return (matrices * to_image[None, :, None]).float()

    def apply(self, images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
        """``images [U, C, H, W]`` in [0, 1] resampled by ``matrices`` (``sample_matrices``); grey outside the image."""
        grid = F.affine_grid(matrices.to(images.device, images.dtype), list(images.shape), align_corners=False)
        moved = F.grid_sample(images - GREY, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return moved + GREY

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A random view of each image (its own draw per image)."""
        return self.apply(images, self.sample_matrices(len(images), generator))
