"""Packaging for tensorboard-deepviz."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="tensorboard-deepviz",
    version="0.1.0",
    description="A TensorBoard plugin that shows what a convolutional network learns while it trains",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["tensorboard_deepviz", "tensorboard_deepviz.*"]),
    package_data={"tensorboard_deepviz": ["static/*"]},
    python_requires=">=3.9",
    entry_points={"tensorboard_plugins": ["deepviz = tensorboard_deepviz.plugin:DeepVizLoader"]},
    # Ranges a preinstalled torch 2.x satisfies, so installing never replaces the user's torch.
    install_requires=[
        "torch>=2.0,<3",
        "tensorboard>=2.14,<3",
        "numpy>=1.23",
        "scikit-learn>=1.2",
        "protobuf>=3.20",
        "werkzeug>=2.0",
        "pillow>=9.0",
    ],
    extras_require={
        "demo": ["tqdm>=4.60"],
        # Only the benchmark's hand-made baseline draws its confusion figure with matplotlib.
        "bench": ["matplotlib>=3.5"],
        "test": ["pytest>=7", "hypothesis>=6", "tensorboardX>=2.6"],
    },
    classifiers=[
        "Framework :: TensorBoard",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
