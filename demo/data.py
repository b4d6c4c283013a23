"""Image datasets for the demo: generated coloured shapes and scikit-learn's bundled digits (neither
downloads anything), and a local CIFAR-10.

Every loader returns an :class:`ImageDataset` of normalized float images ``[N, 3, 32, 32]`` and
int64 labels, so the same network and training loop serve both. Nothing here downloads.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

DIGITS_MEAN = (0.5, 0.5, 0.5)
DIGITS_STD = (0.5, 0.5, 0.5)
DIGITS_TEST_FRACTION = 0.2
# Fixed independently of the training seed so that the test set is the same in every run.
DIGITS_SPLIT_SEED = 0

# The per-channel statistics of the CIFAR-10 training set commonly used for normalization.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_META_FILE = "batches.meta"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_SIDE = 32
CIFAR10_CLASSES = 10

PathLike = Union[str, Path]


@dataclasses.dataclass
class ImageDataset:
    """A train/test split of normalized images, ready for a DataLoader.

    Attributes:
      train_images: float32 ``[N_train, C, H, W]``, normalized with ``mean`` and ``std``.
      train_labels: int64 ``[N_train]`` class indices.
      test_images: float32 ``[N_test, C, H, W]``, normalized like the training images.
      test_labels: int64 ``[N_test]`` class indices.
      class_names: one name per class, indexed by label.
      description: a one-line human-readable account of the source and the transforms applied.
      mean: the per-channel mean subtracted during normalization.
      std: the per-channel standard deviation divided by during normalization.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    description: str
    mean: tuple[float, ...] = DIGITS_MEAN
    std: tuple[float, ...] = DIGITS_STD

    @property
    def num_classes(self) -> int:
        """Number of classes (the length of ``class_names``)."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        channels, height, width = self.train_images.shape[1:]
        return int(channels), int(height), int(width)

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Undo the normalization: map a batch ``[B, C, H, W]`` back to display values in [0, 1]."""
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        return (images * std + mean).clamp(0.0, 1.0)


def _normalize_(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Normalize ``[N, C, H, W]`` in place, channel by channel (no second full-size copy)."""
    for channel, (m, s) in enumerate(zip(mean, std)):
        images[:, channel].sub_(m).div_(s)
    return images


# --------------------------------------------------------------------------- shapes

SHAPES_TRAIN_SIZE = 4000
SHAPES_TEST_SIZE = 1000
# Fixed independently of the training seed so that the images are the same in every run.
SHAPES_SEED = 0


def load_shapes_dataset(
    train_size: int = SHAPES_TRAIN_SIZE, test_size: int = SHAPES_TEST_SIZE, image_size: int = 32
) -> ImageDataset:
    """Generated coloured shapes (``demo.shapes``): ten (colour, shape) classes on noisy backgrounds.

    Values in [0, 1] are normalized per channel with the training images' own mean and standard
    deviation, as one does with a real dataset.

    Args:
      train_size: number of training images.
      test_size: number of test images (generated with another seed than the training ones).
      image_size: side of the square images, at least 16.

    Returns:
      An ``ImageDataset`` with ``[N, 3, image_size, image_size]`` images and class names such as
      ``"red circle"``.
    """
    from .shapes import CLASS_NAMES, generate_shapes

    train, train_labels = generate_shapes(train_size, side=image_size, seed=SHAPES_SEED)
    test, test_labels = generate_shapes(test_size, side=image_size, seed=SHAPES_SEED + 1)
    mean = tuple(float(m) for m in train.mean(axis=(0, 2, 3)))
    std = tuple(float(s) for s in train.std(axis=(0, 2, 3)))
    description = (
        f"generated coloured shapes: {train_size} train / {test_size} test images, {image_size}x{image_size} RGB, "
        f"{len(CLASS_NAMES)} (colour, shape) classes, normalized with the training set's per-channel mean and std"
    )
    return ImageDataset(
        train_images=_normalize_(torch.from_numpy(train), mean, std),
        train_labels=torch.from_numpy(train_labels),
        test_images=_normalize_(torch.from_numpy(test), mean, std),
        test_labels=torch.from_numpy(test_labels),
        class_names=list(CLASS_NAMES),
        description=description,
        mean=mean,
        std=std,
    )


# --------------------------------------------------------------------------- digits


def load_digits_dataset(image_size: int = 32) -> ImageDataset:
    """scikit-learn's bundled 8x8 handwritten digits, shaped like CIFAR-10 images.

    Transforms, in order: pixel values 0..16 are scaled to [0, 1]; the 8x8 images are upsampled
    to ``image_size`` x ``image_size`` with bilinear interpolation (so the CIFAR-10 network's
    three 5x5 convolutions and poolings have room to work); the single gray channel is copied
    to 3 channels; values are normalized with mean 0.5 and std 0.5 to [-1, 1].

    The 1,797 images are split 80/20 into train and test, stratified by class, with a fixed
    seed: every call returns the same split.

    Args:
      image_size: side of the returned square images, at least 8.

    Returns:
      An ``ImageDataset`` with ``[N, 3, image_size, image_size]`` images and class names
      ``"0"`` .. ``"9"``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size must be an integer of at least 8 (the digits are 8x8), got {image_size!r}")
    digits = load_digits()
    pixels = torch.from_numpy(np.asarray(digits.images, dtype=np.float32)) / 16.0  # [N, 8, 8] in [0, 1]
    images = pixels.unsqueeze(1)
    if image_size != images.shape[-1]:
        # Bilinear weights are convex, so the upsampled values stay inside [0, 1].
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = _normalize_(images.repeat(1, 3, 1, 1).contiguous(), DIGITS_MEAN, DIGITS_STD)
    labels = torch.from_numpy(np.asarray(digits.target, dtype=np.int64))

    train_index, test_index = train_test_split(
        np.arange(len(labels)),
        test_size=DIGITS_TEST_FRACTION,
        stratify=labels.numpy(),
        random_state=DIGITS_SPLIT_SEED,
    )
    train_index = torch.from_numpy(np.sort(train_index))
    test_index = torch.from_numpy(np.sort(test_index))
    description = (
        f"scikit-learn digits: {len(train_index)} train / {len(test_index)} test images, 8x8 gray scaled to [0, 1], "
        f"bilinearly upsampled to {image_size}x{image_size}, copied to 3 channels, normalized with mean 0.5 std 0.5"
    )
    return ImageDataset(
        train_images=images[train_index],
        train_labels=labels[train_index],
        test_images=images[test_index],
        test_labels=labels[test_index],
        class_names=[str(digit) for digit in range(10)],
        description=description,
        mean=DIGITS_MEAN,
        std=DIGITS_STD,
    )


# --------------------------------------------------------------------------- CIFAR-10


def find_cifar10_folder(directory: PathLike) -> Path:
    """The folder holding the CIFAR-10 python-format files: ``directory`` or its ``cifar-10-batches-py``.

    Raises:
      FileNotFoundError: if the directory does not exist or lacks one of the required files;
        the message names every missing file.
      ValueError: if ``directory`` is a file (for example the unextracted archive).
    """
    path = Path(directory).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"CIFAR-10 directory {path} does not exist")
    if not path.is_dir():
        if path.name.endswith((".tar.gz", ".tgz")):
            raise ValueError(
                f"{path} is the CIFAR-10 archive; extract it (tar xzf {path.name}) and pass the extracted folder"
            )
        raise ValueError(f"CIFAR-10 directory {path} is a file, not a directory")
    folder = path / CIFAR10_FOLDER if (path / CIFAR10_FOLDER).is_dir() else path
    required = (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_META_FILE)
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        hint = ""
        if (folder / CIFAR10_ARCHIVE).is_file():
            hint = f"; {CIFAR10_ARCHIVE} is there, extract it first (tar xzf {CIFAR10_ARCHIVE})"
        raise FileNotFoundError(
            f"CIFAR-10 file(s) missing from {folder}: {', '.join(missing)} (expected the extracted "
            f"'{CIFAR10_FOLDER}' folder of the python version from {CIFAR10_URL}){hint}"
        )
    return folder


def _load_pickle(path: Path) -> dict[Any, Any]:
    """Load one CIFAR-10 pickle (only ever pass files from a trusted source to pickle)."""
    try:
        with open(path, "rb") as f:
            content = pickle.load(f, encoding="bytes")
    except OSError:
        raise
    except Exception as error:  # a truncated or foreign file: say which one
        raise ValueError(f"{path} is not a CIFAR-10 python-format pickle: {error!r}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds a {type(content).__name__}, expected a dict as in the CIFAR-10 python format")
    return content


def _field(content: dict[Any, Any], key: str, path: Path) -> Any:
    """``content[b"key"]`` (the python-2 pickles have bytes keys), or ``content["key"]``."""
    for candidate in (key.encode(), key):
        if candidate in content:
            return content[candidate]
    present = ", ".join(sorted(k.decode() if isinstance(k, bytes) else str(k) for k in content))
    extra = " (CIFAR-100 files have 'fine_labels'; this loader reads CIFAR-10)" if key == "labels" else ""
    raise ValueError(f"{path} has no '{key}' entry; it has: {present}{extra}")


def _load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 [N, 3, 32, 32], int64 [N])`` from one CIFAR-10 batch file, validated."""
    content = _load_pickle(path)
    data = np.asarray(_field(content, "data", path))
    labels = np.asarray(_field(content, "labels", path))
    row = 3 * CIFAR10_SIDE * CIFAR10_SIDE
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row:
        raise ValueError(
            f"{path}: 'data' must be uint8 of shape [N, {row}], got {data.dtype} of shape {list(data.shape)}"
        )
    if labels.ndim != 1 or len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but 'labels' has shape {list(labels.shape)}")
    if len(labels) and (
        not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= CIFAR10_CLASSES
    ):
        raise ValueError(f"{path}: labels must be integers in 0..{CIFAR10_CLASSES - 1}")
    # Each row stores the 1024 red, then green, then blue values of a 32x32 image, row-major.
    return data.reshape(-1, 3, CIFAR10_SIDE, CIFAR10_SIDE), labels.astype(np.int64)


def _to_normalized_tensor(data: np.ndarray) -> torch.Tensor:
    images = torch.from_numpy(np.ascontiguousarray(data)).float().div_(255.0)
    return _normalize_(images, CIFAR10_MEAN, CIFAR10_STD)


def load_cifar10(directory: PathLike) -> ImageDataset:
    """CIFAR-10 from a local copy of its python version; never downloads.

    Args:
      directory: the extracted ``cifar-10-batches-py`` folder (holding ``data_batch_1`` ..
        ``data_batch_5``, ``test_batch`` and ``batches.meta``) or the folder containing it.

    Returns:
      An ``ImageDataset`` of 32x32 RGB images scaled to [0, 1] and normalized per channel with
      the usual CIFAR-10 mean and std, the 50,000 training images of the five data batches and
      the 10,000 of the test batch, with the class names of ``batches.meta``.

    Raises:
      FileNotFoundError: naming the directory or each missing file.
      ValueError: naming the file whose content is not in the CIFAR-10 python format.
    """
    folder = find_cifar10_folder(directory)
    meta_path = folder / CIFAR10_META_FILE
    names = _field(_load_pickle(meta_path), "label_names", meta_path)
    class_names = [name.decode("utf-8") if isinstance(name, bytes) else str(name) for name in names]
    if len(class_names) != CIFAR10_CLASSES:
        raise ValueError(f"{meta_path}: expected {CIFAR10_CLASSES} label_names, got {len(class_names)}")

    batches = [_load_batch(folder / name) for name in CIFAR10_TRAIN_FILES]
    train_images = _to_normalized_tensor(np.concatenate([images for images, _ in batches]))
    train_labels = torch.from_numpy(np.concatenate([labels for _, labels in batches]))
    del batches  # the uint8 copies are no longer needed
    test_data, test_labels = _load_batch(folder / CIFAR10_TEST_FILE)
    description = (
        f"CIFAR-10 from {folder}: {len(train_labels)} train / {len(test_labels)} test 32x32 RGB images, "
        f"scaled to [0, 1], normalized per channel with mean {CIFAR10_MEAN} std {CIFAR10_STD}"
    )
    return ImageDataset(
        train_images=train_images,
        train_labels=train_labels,
        test_images=_to_normalized_tensor(test_data),
        test_labels=torch.from_numpy(test_labels),
        class_names=class_names,
        description=description,
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD,
    )
