"""Packaging for tensorboard-deepviz."""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).parent
FRONTEND = HERE / "frontend"
BUNDLE = HERE / "tensorboard_deepviz" / "static" / "index.js"


def _frontend_sources() -> list:
    files = [FRONTEND / name for name in ("package.json", "package-lock.json", "build.mjs", "tsconfig.json")]
    files += [path for path in (FRONTEND / "src").rglob("*") if path.is_file()]
    return [path for path in files if path.is_file()]


def build_frontend() -> None:
    """Build the dashboard bundle (tensorboard_deepviz/static/index.js) with npm when needed.

    Runs when frontend/package.json exists (a source checkout) and the bundle is missing or older
    than its sources; an sdist carries the built bundle instead of frontend/. Set
    DEEPVIZ_SKIP_FRONTEND=1 to use the bundle as it is.
    """
    if os.environ.get("DEEPVIZ_SKIP_FRONTEND") == "1" or not (FRONTEND / "package.json").is_file():
        if not BUNDLE.is_file():
            raise SystemExit(
                f"tensorboard-deepviz: the dashboard bundle {BUNDLE.relative_to(HERE)} is missing and cannot be built "
                "here (no frontend/package.json, or DEEPVIZ_SKIP_FRONTEND=1); build from a source checkout with Node.js 20+ and npm"
            )
        return
    newest = max(path.stat().st_mtime for path in _frontend_sources())
    if BUNDLE.is_file() and BUNDLE.stat().st_mtime >= newest:
        return
    npm = shutil.which("npm")
    if npm is None:
        if BUNDLE.is_file():
            print(
                f"tensorboard-deepviz: npm not found; packaging the existing {BUNDLE.relative_to(HERE)}, older than frontend/"
            )
            return
        raise SystemExit(
            "tensorboard-deepviz: building the dashboard (frontend/) needs Node.js 20+ and npm, and npm is not on PATH. "
            "Install Node.js (https://nodejs.org or your system's nodejs and npm packages) and retry, or run `make frontend` first."
        )
    lock = FRONTEND / "package-lock.json"
    if not (FRONTEND / "node_modules").is_dir() or (
        lock.is_file() and lock.stat().st_mtime > (FRONTEND / "node_modules").stat().st_mtime
    ):
        subprocess.run(
            [npm, "ci" if lock.is_file() else "install", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True
        )
    subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)
    if not BUNDLE.is_file():
        raise SystemExit(f"tensorboard-deepviz: `npm run build` did not write {BUNDLE.relative_to(HERE)}")


class BuildPyWithFrontend(build_py):
    """build_py that first builds the dashboard, so wheels and installs contain it."""

    def run(self) -> None:
        build_frontend()
        super().run()


class SdistWithFrontend(sdist):
    """sdist that carries the built dashboard (package data), so a wheel built from it needs no npm."""

    def run(self) -> None:
        build_frontend()
        super().run()


setup(
    name="tensorboard-deepviz",
    version="0.1.0",
    description="A TensorBoard plugin that shows what a convolutional network learns while it trains",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["tensorboard_deepviz", "tensorboard_deepviz.*"]),
    package_data={"tensorboard_deepviz": ["static/*"]},
    cmdclass={"build_py": BuildPyWithFrontend, "sdist": SdistWithFrontend},
    python_requires=">=3.9",
    entry_points={"tensorboard_plugins": ["deepviz = tensorboard_deepviz.plugin:DeepVizLoader"]},
    # Ranges a preinstalled torch 2.x satisfies, so installing never replaces the user's torch.
    install_requires=[
        "torch>=2.0,<3",
        "tensorboard>=2.14,<3",
        "numpy>=1.23",
        "scikit-learn>=1.2",
        # Already scikit-learn's own dependency; named because clusters are matched across
        # checkpoints with its linear_sum_assignment.
        "scipy>=1.6",
        "protobuf>=3.20",
        "werkzeug>=2.0",
        "pillow>=9.0",
    ],
    extras_require={
        "demo": ["tqdm>=4.60"],
        # Only the benchmark's hand-made baseline draws its confusion figure with matplotlib.
        "bench": ["matplotlib>=3.5"],
        "test": ["pytest>=7", "hypothesis>=6", "tensorboardX>=2.6", "playwright>=1.40"],
        # Pinned so that `make lint` gives the same verdict on every machine.
        "lint": ["ruff==0.17.6", "mypy==2.4.1"],
        # tensorboard_deepviz.lightning.DeepVizCallback; the range leaves a preinstalled torch 2.x alone.
        "lightning": ["pytorch-lightning>=2.0,<3"],
    },
    classifiers=[
        "Framework :: TensorBoard",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
