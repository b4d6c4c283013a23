"""The layers' import rules (docs/ARCHITECTURE.md): data flows one way, and only the writer imports torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tensorboard_deepviz"
# What each layer may import from the package; every layer may import the contract.
ALLOWED = {
    "contract": {"contract"},
    "analysis": {"contract", "analysis"},
    "writer": {"contract", "analysis", "writer", "summary"},
    "server": {"contract", "analysis", "server"},
    "summary": {"contract", "analysis"},
    # The PyTorch Lightning callback (tensorboard_deepviz/lightning.py) belongs to the writer.
    "lightning": {"contract", "analysis", "writer", "summary"},
}
# The layers that may import torch.
TORCH_LAYERS = ("writer", "lightning")
HEAVY = ("torch", "sklearn", "scipy")


def _imports_in_a_fresh_interpreter(module: str) -> list[str]:
    code = f"import sys, {module}; print(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.split()


def test_loading_the_plugin_imports_neither_torch_nor_scikit_learn_nor_scipy():
    # What TensorBoard imports through the tensorboard_plugins entry point.
    assert _imports_in_a_fresh_interpreter("tensorboard_deepviz.plugin") == []


@pytest.mark.parametrize("module", ["tensorboard_deepviz.summary", "tensorboard_deepviz.contract.codes"])
def test_the_summary_functions_and_the_contract_need_no_torch(module):
    assert "torch" not in _imports_in_a_fresh_interpreter(module)


def _package_imports(path: Path) -> set[str]:
    """The top-level parts of tensorboard_deepviz a module imports, and the third-party roots."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
                if module.startswith("tensorboard_deepviz."):
                    found.add("pkg:" + module.split(".")[1])
                else:
                    found.add(module.split(".")[0])
                continue
            # A relative import: resolve it against the module's folder inside the package.
            parts = list(path.relative_to(PACKAGE).parts[:-1])
            up = node.level - 1
            base = parts[: len(parts) - up] if up <= len(parts) else []
            target = base + (node.module.split(".") if node.module else [])
            if target:
                found.add("pkg:" + target[0].removesuffix(".py"))
            else:  # "from .. import x" at the top: x itself is the part
                found.update("pkg:" + alias.name for alias in node.names)
    return found


def _layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path):
    layer = _layer_of(path)
    if layer not in ALLOWED:  # __init__.py and the plugin.py entry-point shim
        return
    imports = _package_imports(path)
    inside = {name.removeprefix("pkg:") for name in imports if name.startswith("pkg:")}
    assert inside <= ALLOWED[layer], f"{layer} may import {sorted(ALLOWED[layer])}, imports {sorted(inside)}"
    if layer not in TORCH_LAYERS:
        assert "torch" not in imports, f"only the writer imports torch; {path.name} does"
    if layer != "lightning":  # an optional extra: only its own module may need it
        assert not {"pytorch_lightning", "lightning"} & imports, f"{path.name} imports Lightning"
