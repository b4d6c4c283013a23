"""Shared helpers: machine description, percentiles, and appending tables to RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from typing import Sequence

import numpy as np

RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS.md")


def machine() -> str:
    """CPU model and core count, plus the GPU name when CUDA is available."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    description = f"{cpu}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            description += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return description


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(__file__),
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return str(value)


def report(title: str, body: str, *, append: bool = True) -> None:
    """Print a section and append it to RESULTS.md with the machine, date and commit."""
    stamp = f"{datetime.date.today().isoformat()}, commit {commit()}, {machine()}"
    section = f"\n## {title}\n\n_{stamp}_\n\n{body}\n"
    print(section)
    if append:
        with open(RESULTS, "a", encoding="utf-8") as results:
            results.write(section)
