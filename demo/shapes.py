"""Coloured shapes, generated: a colour dataset where units can become colour and shape detectors.

Grayscale digits cannot show a unit that fires on red, or one that answers to a ring whatever
its colour. Here each class is a (colour, shape) pair, chosen so that every colour appears in
two or three classes and every shape in exactly two: telling the classes apart needs both
colour and shape, so the network learns detectors of each, and the deepviz views can show
them (filters in colour, top images, class selectivity). Generated with numpy from a seed:
nothing is downloaded and every call with the same arguments returns the same images.
"""

from __future__ import annotations

import numpy as np

# RGB in [0, 1]. Colours are jittered per image, so a unit must learn a colour's region.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.15, 0.12),
    "green": (0.15, 0.70, 0.20),
    "blue": (0.15, 0.30, 0.90),
    "yellow": (0.90, 0.80, 0.10),
}
SHAPES = ("circle", "square", "triangle", "cross", "ring")
# (colour, shape) of each class: red 3 classes, blue 3, green 2, yellow 2; every shape twice.
CLASSES: tuple[tuple[str, str], ...] = (
    ("red", "circle"),
    ("green", "circle"),
    ("blue", "square"),
    ("red", "square"),
    ("green", "triangle"),
    ("yellow", "triangle"),
    ("blue", "cross"),
    ("yellow", "cross"),
    ("red", "ring"),
    ("blue", "ring"),
)
CLASS_NAMES = [f"{colour} {shape}" for colour, shape in CLASSES]
# Supersampling factor of the shape masks: smooth edges without an imaging library.
_SUPERSAMPLE = 3


def _shape_mask(shape: str, side: int, centre: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Coverage in [0, 1] of ``shape`` on a ``side`` x ``side`` grid (anti-aliased by supersampling)."""
    fine = side * _SUPERSAMPLE
    coordinates = (np.arange(fine) + 0.5) / _SUPERSAMPLE
    y, x = np.meshgrid(coordinates, coordinates, indexing="ij")
    # Rotate the grid into the shape's frame.
    dx, dy = x - centre[0], y - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    if shape == "circle":
        inside = u**2 + v**2 <= radius**2
    elif shape == "ring":
        distance = u**2 + v**2
        inside = (distance <= radius**2) & (distance >= (0.55 * radius) ** 2)
    elif shape == "square":
        half = 0.8 * radius
        inside = (np.abs(u) <= half) & (np.abs(v) <= half)
    elif shape == "cross":
        arm = 0.3 * radius
        inside = ((np.abs(u) <= radius) & (np.abs(v) <= arm)) | ((np.abs(v) <= radius) & (np.abs(u) <= arm))
    elif shape == "triangle":
        # An equilateral triangle pointing up in its own frame: three half-planes.
        inside = v <= 0.5 * radius
        for turn in (2 * np.pi / 3, 4 * np.pi / 3):
            c, s = np.cos(turn), np.sin(turn)
            inside &= (-s * u + c * v) <= 0.5 * radius
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    coverage = inside.reshape(side, _SUPERSAMPLE, side, _SUPERSAMPLE).mean(axis=(1, 3))
    return coverage.astype(np.float32)


def generate_shapes(count: int, *, side: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``count`` images of coloured shapes on noisy backgrounds, classes balanced.

    Each image: a background of low-contrast noise around a random dark grey with a slight tint,
    and one shape of its class (random position, size between 0.22 and 0.36 of the side, random
    rotation) filled with its class's colour, jittered by up to 0.08 per channel.

    Args:
      count: number of images (at least 1); labels cycle through the classes, then are shuffled.
      side: image side in pixels (at least 16).
      seed: seed of the generator; the same arguments give the same images.

    Returns:
      ``(images, labels)``: float32 ``[count, 3, side, side]`` in [0, 1] and int64 ``[count]``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if isinstance(side, bool) or not isinstance(side, int) or side < 16:
        raise ValueError(f"side must be an integer of at least 16, got {side!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES)).astype(np.int64)
    images = np.empty((count, 3, side, side), dtype=np.float32)
    for index, label in enumerate(labels):
        colour_name, shape = CLASSES[label]
        background = rng.uniform(0.1, 0.35) + rng.uniform(-0.04, 0.04, size=3)
        noise = rng.normal(0.0, 0.04, size=(3, side, side))
        radius = side * rng.uniform(0.22, 0.36)
        margin = radius * 1.05
        centre = rng.uniform(margin, side - margin, size=2)
        mask = _shape_mask(shape, side, centre, radius, rng.uniform(0, 2 * np.pi))
        colour = np.clip(np.array(COLOURS[colour_name]) + rng.uniform(-0.08, 0.08, size=3), 0.0, 1.0)
        picture = background[:, None, None] + noise
        picture = picture * (1 - mask) + colour[:, None, None] * mask
        images[index] = np.clip(picture, 0.0, 1.0)
    return images, labels
