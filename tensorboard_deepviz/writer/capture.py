"""Forward hooks on a model: choosing layers, tracing the layer graph, keeping log_step's layer outputs.

Every hook registered here is removed deterministically: ``trace_graph`` removes its own before
it returns, and ``LastOutputs.remove()`` is called by ``DeepViz.close()``; neither leaks a hook
when an exception passes through. (A checkpoint's taps are ``writer.checkpoint``'s.)
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

AUTO_LAYER_TYPES = (nn.Conv2d, nn.Linear)
INPUT_NODE = "input"
OUTPUT_NODE = "output"


def iter_tensors(value: Any) -> Iterator[torch.Tensor]:
    """Yield the tensors inside nested tuples, lists and dicts."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_tensors(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_tensors(item)


def first_tensor(value: Any) -> Optional[torch.Tensor]:
    """The first tensor of a module's output (the output itself for ordinary layers)."""
    return next(iter_tensors(value), None)


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the user's module inside DataParallel / DistributedDataParallel / torch.compile wrappers.

    Hooks go on the user's own submodules, which the wrappers share, so they still see the
    wrapped model's forward passes; layer names are the user's (no ``module.`` or
    ``_orig_mod.`` prefix), and checkpoints run the plain module (no recompilation for the
    eval batch size).
    """
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            inner = model.module
        else:
            inner = getattr(model, "_orig_mod", None)  # torch.compile's OptimizedModule
        if not isinstance(inner, nn.Module):
            return model
        model = inner


@dataclasses.dataclass
class GraphTrace:
    """The layer graph of one forward pass and the order in which modules were first called."""

    graph: dict[str, Any]
    call_order: list[str]


class _ProvenanceMode(TorchFunctionMode):
    """Tracks, for every tensor made during a forward pass, which layer calls it came from.

    Functional operations between layers (residual additions, flattening, activation
    functions) pass the provenance of their inputs on, so edges connect layers across them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[int, frozenset[str]] = {}
        self._alive: list[torch.Tensor] = []  # keeps ids unique for the duration of the trace

    def mark(self, value: Any, sources: frozenset[str]) -> None:
        for tensor in iter_tensors(value):
            self.sources[id(tensor)] = sources
            self._alive.append(tensor)

    def sources_of(self, value: Any) -> frozenset[str]:
        found: frozenset[str] = frozenset()
        for tensor in iter_tensors(value):
            found = found | self.sources.get(id(tensor), frozenset())
        return found

    def __torch_function__(self, func: Callable, types: Any, args: Sequence = (), kwargs: Optional[dict] = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        sources = self.sources_of((args, kwargs))
        if sources:
            self.mark(result, sources)
        return result


def _parameter_shapes(module: nn.Module) -> dict[str, list[int]]:
    return {name: list(p.shape) for name, p in module.named_parameters(recurse=False)}


def _module_entry(name: str, module: nn.Module) -> dict[str, Any]:
    """A ``modules`` entry; a container with parameters of its own (a block's layer scale) also lists
    their shapes, which the dashboard compares when it folds identical siblings (leaves list theirs
    on their nodes). Optional: logs written before it lack the field."""
    entry: dict[str, Any] = {"name": name, "type": type(module).__name__, "parent": name.rpartition(".")[0]}
    if any(True for _ in module.children()):
        own = _parameter_shapes(module)
        if own:
            entry["parameter_shapes"] = own
    return entry


def trace_graph(model: nn.Module, example: torch.Tensor, logged_layers: Iterable[str] = ()) -> GraphTrace:
    """Run ``model(example)`` once and record its layer DAG.

    Nodes are calls of leaf modules and of the containers in ``logged_layers`` (a module called
    twice gives ``name`` and ``name#2``), plus ``input`` and ``output``; edges follow tensors through functional code between
    modules. ``modules`` lists every named module with its parent, for collapsible groups.
    The caller is responsible for no_grad, eval mode and RNG isolation.
    """
    logged = set(logged_layers)
    named = dict(model.named_modules())
    leaves = {name: m for name, m in named.items() if name and not any(True for _ in m.children())}
    for name in logged:  # a chosen container is traced as one node too
        if name in named and name:
            leaves.setdefault(name, named[name])
    nodes: list[dict[str, Any]] = [
        {"id": INPUT_NODE, "module": "", "type": "Input", "output_shape": list(example.shape)}
    ]
    edges: set[tuple[str, str]] = set()
    call_counts: dict[str, int] = {}
    call_order: list[str] = []
    current_node: dict[str, str] = {}  # the node of each module's call in progress
    mode = _ProvenanceMode()
    handles = []

    def pre_hook(name: str) -> Callable:
        def hook(module: nn.Module, inputs: Any) -> None:
            count = call_counts.get(name, 0) + 1
            call_counts[name] = count
            node_id = name if count == 1 else f"{name}#{count}"
            if count == 1:
                call_order.append(name)
            current_node[name] = node_id
            for source in mode.sources_of(inputs):
                edges.add((source, node_id))

        return hook

    def post_hook(name: str) -> Callable:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            node_id = current_node[name]
            out = first_tensor(output)
            nodes.append(
                {
                    "id": node_id,
                    "module": name,
                    "type": type(module).__name__,
                    "output_shape": list(out.shape) if out is not None else [],
                    "parameter_shapes": _parameter_shapes(module),
                    "parameters": int(sum(p.numel() for p in module.parameters(recurse=False))),
                }
            )
            mode.mark(output, frozenset({node_id}))

        return hook

    try:
        for name, module in leaves.items():
            handles.append(module.register_forward_pre_hook(pre_hook(name)))
            handles.append(module.register_forward_hook(post_hook(name)))
        with mode:
            mode.mark(example, frozenset({INPUT_NODE}))
            output = model(example)
            for source in mode.sources_of(output):
                edges.add((source, OUTPUT_NODE))
    finally:
        for handle in handles:
            handle.remove()
    final = first_tensor(output)
    nodes.append(
        {
            "id": OUTPUT_NODE,
            "module": "",
            "type": "Output",
            "output_shape": list(final.shape) if final is not None else [],
        }
    )
    # Containers make edges from a child's own node to itself impossible; drop self-loops anyway.
    edge_list = sorted((a, b) for a, b in edges if a != b)
    modules = [_module_entry(name, m) for name, m in named.items() if name]
    graph = {
        "nodes": nodes,
        "edges": [{"source": a, "target": b} for a, b in edge_list],
        "modules": modules,
        "model_type": type(model).__name__,
    }
    return GraphTrace(graph=graph, call_order=call_order)


def resolve_layers(model: nn.Module, layers: Union[str, Sequence[str]], call_order: Sequence[str]) -> list[str]:
    """Names of the layers to log: ``"auto"`` = every Conv2d and Linear in forward order.

    Raises ``ValueError`` for a model with no such layer, an unknown name or a duplicate.
    """
    named = dict(model.named_modules())
    if isinstance(layers, str):
        if layers != "auto":
            raise ValueError(f"layers must be 'auto' or a list of module names, got {layers!r}")
        candidates = [name for name, m in named.items() if name and isinstance(m, AUTO_LAYER_TYPES)]
        if not candidates:
            raise ValueError(
                f"layers='auto' found no Conv2d or Linear layer in {type(model).__name__}; "
                "pass layers=[...] with module names"
            )
        position = {name: i for i, name in enumerate(call_order)}
        never_called = [name for name in candidates if name not in position]
        if never_called:
            warnings.warn(f"deepviz: layers never called in a forward pass are skipped: {never_called}", stacklevel=3)
        return sorted((n for n in candidates if n in position), key=position.__getitem__)
    names = list(layers)
    if not names:
        raise ValueError("layers must name at least one module")
    unknown = [name for name in names if name not in named or not name]
    if unknown:
        known = ", ".join(n for n in named if n)
        raise ValueError(f"unknown layer name(s) {unknown}; the model's modules are: {known}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"layers lists {duplicates} more than once")
    return names


def last_linear(model: nn.Module, call_order: Sequence[str]) -> Optional[str]:
    """Name of the last nn.Linear called in a forward pass, if any."""
    named = dict(model.named_modules())
    linears = [name for name in call_order if isinstance(named.get(name), nn.Linear)]
    return linears[-1] if linears else None


class LastOutputs:
    """Keeps a reference to each chosen layer's output of the latest forward pass (for log_step).

    Holding the reference costs no computation and no copy; ``paused`` suspends recording
    while the logger runs its own forward passes. With ``input_of``, the input that layer
    received is kept too (``latest_input``: the batch the first logged layer saw).
    """

    def __init__(self, modules: Mapping[str, nn.Module], input_of: Optional[str] = None) -> None:
        self.latest: dict[str, torch.Tensor] = {}
        self.latest_input: Optional[torch.Tensor] = None
        self.paused = False
        self._input_of = input_of
        self._handles = []
        try:
            for name, module in modules.items():
                self._handles.append(module.register_forward_hook(self._hook(name)))
        except BaseException:
            self.remove()
            raise

    def _hook(self, name: str) -> Callable:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not self.paused:
                tensor = first_tensor(output)
                if tensor is not None:
                    self.latest[name] = tensor.detach()
                if name == self._input_of:
                    received = first_tensor(inputs)
                    if received is not None:
                        self.latest_input = received.detach()

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.latest.clear()
        self.latest_input = None
