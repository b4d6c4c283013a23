"""Direct Compare: a grid of checkpoints x layers, each cell the URL of its filter or activation sprite."""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlencode

from ...contract import metadata
from .. import params, render
from ..access import RunAccess
from ..errors import RequestError
from ..index import run_layer_order
from ..routing import Reply, Route, RouteRequest, json_payload
from .filters import MAX_SELECTED_FILTERS

# Direct Compare answers at most this many cells (checkpoints x layers).
MAX_COMPARE_CELLS = 400


def answer_compare(
    run: RunAccess,
    *,
    image: Optional[int] = None,
    norm: Optional[str] = None,
    layers: Optional[str] = None,
    steps: Optional[str] = None,
    filters: Optional[str] = None,
) -> dict[str, Any]:
    """The cells of a Direct Compare grid: filters, or with ``image`` that probe image's activations.

    Args:
      run: the run's records.
      image: a probe image (activations), or None (filters).
      norm: the sprites' colour scale; the first of ``render.ACTIVATION_NORMS`` or
        ``render.FILTER_NORMS`` when None.
      layers: which layers (``params.select_names``, in the model's order); all when None.
      steps: which checkpoints (``params.select_values``); all of the chosen layers' when None.
      filters: which filters each filter sprite shows (``params.select_indices``); all when None.

    Returns:
      ``{"kind", "steps", "layers", "filters", "image", "cells"}``, a cell per (step, layer) in
      reading order: ``{"step", "layer", "available", "url", "layout_url"}``, the URLs relative
      to the plugin's routes and None where the layer has no record at that step.

    Raises:
      RequestError: more than ``MAX_COMPARE_CELLS`` cells, or a bad selection.
      NotFound: a selection naming a layer or step the run does not have.
    """
    kind = metadata.KIND_ACTIVATIONS if image is not None else metadata.KIND_WEIGHTS
    route = "activations" if image is not None else "filters"
    if norm is None:
        norm = (render.ACTIVATION_NORMS if image is not None else render.FILTER_NORMS)[0]
    layer_tags = run.layers_with(kind)
    available_layers = [name for name in run_layer_order(run) if name in layer_tags]
    chosen_layers = params.select_names(layers, available_layers, "layers")
    steps_of = {name: {ref.step for ref in run.steps(layer_tags[name])} for name in chosen_layers}
    chosen_steps = params.select_values(steps, sorted(set().union(*steps_of.values())), "steps")
    cell_count = len(chosen_steps) * len(chosen_layers)
    if cell_count > MAX_COMPARE_CELLS:
        raise RequestError(
            f"compare would return {len(chosen_steps)} checkpoints x {len(chosen_layers)} layers = {cell_count} cells; "
            f"at most {MAX_COMPARE_CELLS} are allowed: narrow 'steps' or 'layers'"
        )
    if filters:  # checked here, so that no cell's URL fails for it
        params.select_indices(filters, MAX_SELECTED_FILTERS, "filters", limit=MAX_SELECTED_FILTERS)
    cells = []
    for step in chosen_steps:
        for layer in chosen_layers:
            present = step in steps_of[layer]
            query = {"run": run.run, "layer": layer, "step": str(step), "norm": norm}
            if image is not None:
                query["image"] = str(image)
            elif filters:
                query["filters"] = filters
            encoded = urlencode(query)
            cells.append(
                {
                    "step": step,
                    "layer": layer,
                    "available": present,
                    "url": f"{route}?{encoded}" if present else None,
                    "layout_url": f"{route}_layout?{encoded}" if present else None,
                }
            )
    return {
        "kind": kind,
        "steps": chosen_steps,
        "layers": chosen_layers,
        "filters": filters or None,
        "image": image,
        "cells": cells,
    }


# Runs one Direct Compare answer may lay side by side.
MAX_COMPARE_RUNS = 8


def answer_compare_runs(runs: list[RunAccess], **selection: Any) -> dict[str, Any]:
    """Direct Compare with a runs axis: runs x checkpoints x layers.

    Each run's grid is ``answer_compare``'s with the same selections; every cell names its run.

    Returns:
      ``{"kind", "runs", "grids": [{"run", "steps", "layers"}], "filters", "image", "cells"}``,
      the cells of each run in turn.

    Raises:
      RequestError: more than ``MAX_COMPARE_CELLS`` cells over all runs, or a bad selection.
    """
    grids = [answer_compare(run, **selection) for run in runs]
    cells = [dict(cell, run=run.run) for run, grid in zip(runs, grids) for cell in grid["cells"]]
    if len(cells) > MAX_COMPARE_CELLS:
        raise RequestError(
            f"compare would return {len(cells)} cells over {len(runs)} runs; at most {MAX_COMPARE_CELLS} are allowed: "
            "narrow 'steps', 'layers' or 'runs'"
        )
    first = grids[0]
    return {
        "kind": first["kind"],
        "runs": [run.run for run in runs],
        "grids": [{"run": run.run, "steps": g["steps"], "layers": g["layers"]} for run, g in zip(runs, grids)],
        "filters": first["filters"],
        "image": first["image"],
        "cells": cells,
    }


def compare_route(request: RouteRequest) -> Reply:
    """``compare?run=[&image=][&norm=][&layers=][&steps=][&filters=]``: the grid (JSON, no ETag).

    With ``runs=a,b,...`` instead of ``run``: the grids of several runs side by side (a runs axis).
    """
    names = params.optional_text(request.args, "runs")
    if names is not None:
        chosen = [name for name in names.split(",") if name]
        if not chosen or len(chosen) > MAX_COMPARE_RUNS:
            raise RequestError(f"'runs' must name 1 to {MAX_COMPARE_RUNS} runs, comma-separated")
        runs = [request.experiment.for_run(name) for name in chosen]
        for each in runs:
            each.tags()  # an unknown run is named before any parameter problem
        image = params.optional_integer(request.args, "image", minimum=0)
        norm = params.choice(
            request.args, "norm", render.ACTIVATION_NORMS if image is not None else render.FILTER_NORMS
        )
        layers, steps, filters = (request.args.get(name) for name in ("layers", "steps", "filters"))
        return Reply(
            lambda: json_payload(
                answer_compare_runs(runs, image=image, norm=norm, layers=layers, steps=steps, filters=filters)
            )
        )
    run = request.run()
    run.tags()  # an unknown run is named before any parameter problem
    image = params.optional_integer(request.args, "image", minimum=0)
    norm = params.choice(request.args, "norm", render.ACTIVATION_NORMS if image is not None else render.FILTER_NORMS)
    # The selections are parsed against the run's layers and steps, in answer_compare.
    layers, steps, filters = (request.args.get(name) for name in ("layers", "steps", "filters"))
    # No identity: the grid grows with a live log.
    return Reply(
        lambda: json_payload(answer_compare(run, image=image, norm=norm, layers=layers, steps=steps, filters=filters))
    )


ROUTES = (Route("compare", compare_route),)
