"""A runnable demo of tensorboard-deepviz: the deepViz paper's small CNN on digits or CIFAR-10.

``python -m demo.train`` trains on scikit-learn's bundled digits (no download) and writes logs
under ``runs/demo``; ``tensorboard --logdir runs/demo`` then shows them in the deepviz tab.
"""

from .data import ImageDataset, load_cifar10, load_digits_dataset
from .model import DeepVizNet

__all__ = ["DeepVizNet", "ImageDataset", "load_cifar10", "load_digits_dataset"]
