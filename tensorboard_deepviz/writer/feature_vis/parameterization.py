"""How an image being optimized is parameterized: a Fourier-scaled, colour-decorrelated spectrum, or plain pixels.

Gradient ascent on raw pixels is dominated by high frequencies: the result is noise the network
happens to respond to. Olah et al. (Distill 2017, "preconditioning") optimize instead in a space
where each direction has about the same effect on the image: the 2-D spectrum of each colour
channel, scaled by ``1 / frequency`` (so low frequencies, which natural images are made of, move
as easily as high ones), and colours decorrelated with the square root of ImageNet's colour
covariance (so an independent step changes luminance and hue separately); a sigmoid maps the
result to [0, 1]. Lucid and Lucent implement it as ``param.image(..., fft=True,
decorrelate=True)``: spectrum initialized with standard deviation 0.01, decay power 1, the
image divided by Lucid's constant 4 before the colour map. ``FourierImages`` is our
implementation of that, for a batch of images (one per unit) on any device.

``PixelImages`` is the Deep Visualization Toolbox's parameterization: pixels themselves, as a
deviation from grey, kept in [0, 1] by the optimizer.

Both hold one parameter tensor whose first axis is the unit, so a unit's parameters can be kept
from one checkpoint to the next (warm start) by indexing rows.
"""

from __future__ import annotations

from typing import Optional

import torch

# sqrt of ImageNet's colour covariance (by SVD), the matrix of Lucid's and Lucent's color.py.
COLOR_CORRELATION_SVD_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))
# Lucent fft_image: standard deviation of the initial spectrum, and the decay power of its scale.
SPECTRUM_SD = 0.01
DECAY_POWER = 1.0
# Lucid's constant: the inverse transform's image is divided by it ("reduces saturation").
SPECTRUM_DIVISOR = 4.0
# The toolbox starts from the mean plus Gaussian noise of standard deviation 10 in 0..255 units
# (optimize_image.py, start_at="mean_plus_rand"); in [0, 1] units:
PIXEL_START_SD = 10.0 / 255.0


def _colour_matrix(device: torch.device) -> torch.Tensor:
    """The decorrelating colour map, its columns scaled so the largest has unit norm (as Lucid does)."""
    matrix = torch.tensor(COLOR_CORRELATION_SVD_SQRT, dtype=torch.float32, device=device)
    return matrix / matrix.norm(dim=0).max()


def spectrum_scale(height: int, width: int, decay_power: float = DECAY_POWER) -> torch.Tensor:
    """``1 / max(frequency, 1 / max(height, width)) ** decay_power`` over the real FFT's grid, ``[height, width // 2 + 1]``.

    Frequencies in cycles per pixel; the floor keeps the constant term finite (it becomes the
    largest scale, the image's side).
    """
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=torch.float64)[None, :]
    frequency = torch.sqrt(fx * fx + fy * fy)
    return (1.0 / torch.clamp(frequency, min=1.0 / max(height, width)) ** decay_power).float()


class FourierImages:
    """A batch of images parameterized by a scaled spectrum per colour channel, colours decorrelated.

    Args:
      spectrum: ``[U, C, H, W // 2 + 1, 2]`` real and imaginary parts (the parameter optimized).
      height, width: the images' size.
    """

    def __init__(self, spectrum: torch.Tensor, height: int, width: int) -> None:
        if spectrum.ndim != 5 or spectrum.shape[-1] != 2 or spectrum.shape[-2] != width // 2 + 1:
            raise ValueError(
                f"a spectrum for {height} x {width} images must be [U, C, H, W//2+1, 2], got {spectrum.shape}"
            )
        self.parameter = spectrum
        self.height, self.width = height, width
        self._scale = spectrum_scale(height, width).to(spectrum.device)[None, None, :, :, None]
        channels = spectrum.shape[1]
        self._colours: Optional[torch.Tensor] = _colour_matrix(spectrum.device) if channels == 3 else None

    @staticmethod
    def initial(
        count: int, channels: int, height: int, width: int, generator: torch.Generator, device: torch.device
    ) -> torch.Tensor:
        """A fresh spectrum for ``count`` images: Gaussian, standard deviation ``SPECTRUM_SD`` (drawn on the CPU)."""
        shape = (count, channels, height, width // 2 + 1, 2)
        return (torch.randn(shape, generator=generator) * SPECTRUM_SD).to(device)

    def images(self) -> torch.Tensor:
        """The images ``[U, C, H, W]`` in [0, 1], differentiable with respect to the spectrum."""
        scaled = torch.view_as_complex((self._scale * self.parameter).contiguous())
        pixels = torch.fft.irfftn(scaled, s=(self.height, self.width), dim=(-2, -1), norm="ortho")
        pixels = pixels / SPECTRUM_DIVISOR
        if self._colours is not None:
            pixels = torch.einsum("ij,ujhw->uihw", self._colours, pixels)
        return torch.sigmoid(pixels)


class PixelImages:
    """A batch of images as their pixels' deviation from grey (the Deep Visualization Toolbox's parameterization).

    Args:
      deviation: ``[U, C, H, W]``, the image minus 0.5 (the parameter optimized, kept in
        [-0.5, 0.5] by the optimizer).
    """

    def __init__(self, deviation: torch.Tensor) -> None:
        if deviation.ndim != 4:
            raise ValueError(f"pixel images must be [U, C, H, W], got {deviation.shape}")
        self.parameter = deviation
        self.height, self.width = int(deviation.shape[2]), int(deviation.shape[3])

    @staticmethod
    def initial(
        count: int, channels: int, height: int, width: int, generator: torch.Generator, device: torch.device
    ) -> torch.Tensor:
        """Grey plus Gaussian noise of standard deviation ``PIXEL_START_SD`` (drawn on the CPU)."""
        noise = torch.randn((count, channels, height, width), generator=generator) * PIXEL_START_SD
        return noise.clamp(-0.5, 0.5).to(device)

    def images(self) -> torch.Tensor:
        """The images ``[U, C, H, W]`` in [0, 1]."""
        return self.parameter + 0.5


def gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    """A normalized 1-D Gaussian of standard deviation ``sigma``, truncated at 4 sigma (scipy's ``gaussian_filter``)."""
    radius = max(1, int(4.0 * sigma + 0.5))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of ``images [U, C, H, W]`` blurred separably, borders reflected (scipy's default mode, within a pixel)."""
    if sigma <= 0:
        return images
    kernel = gaussian_kernel(sigma, images.device).to(images.dtype)
    radius = (len(kernel) - 1) // 2
    count, channels, height, width = images.shape
    flat = images.reshape(count * channels, 1, height, width)
    # Reflection needs the border to be wider than the kernel's radius: the blur is cut to fit.
    pad_h, pad_w = min(radius, height - 1), min(radius, width - 1)
    rows = kernel[radius - pad_h : radius + pad_h + 1].view(1, 1, -1, 1)
    cols = kernel[radius - pad_w : radius + pad_w + 1].view(1, 1, 1, -1)
    flat = torch.nn.functional.pad(flat, (0, 0, pad_h, pad_h), mode="reflect") if pad_h else flat
    flat = torch.nn.functional.conv2d(flat, rows / rows.sum())
    flat = torch.nn.functional.pad(flat, (pad_w, pad_w, 0, 0), mode="reflect") if pad_w else flat
    flat = torch.nn.functional.conv2d(flat, cols / cols.sum())
    return flat.reshape(count, channels, height, width)
