"""A/B mode beyond the confusion matrices, in Chromium: the training dynamics overlaid (A solid, B
dashed), the clusters side by side, Direct Compare over two runs, and a pinned cell of B opening an image.

MAIN_RUN and SECOND_RUN are written by DeepViz over one eval set (the session's logs, conftest.py);
SECOND_RUN turns NaN after step NAN_STEP, so B is taken at a checkpoint before it where the view needs
finite features.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.e2e_data import (
    CLASS_NAMES,
    CLUSTERS,
    MAIN_CHECKPOINTS,
    MAIN_RUN,
    NAN_STEP,
    SECOND_CHECKPOINTS,
    SECOND_RUN,
)
from tests.e2e.page import LOAD_TIMEOUT, expect_markup_not_rendered, expect_no_console_error, tid

expect.set_options(timeout=10_000)

CELLS = len(CLASS_NAMES) ** 2
STEP_B = max(step for step in SECOND_CHECKPOINTS if step < NAN_STEP)


def open_view(page: Page, server: Any, view: str, **state: Any) -> None:
    """Open the dashboard at a link naming the view and the A/B selection."""
    page.goto(server.entry_url + "#" + urlencode({"run": MAIN_RUN, "view": view, **state}))
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)
    expect(tid(page, f"view-{view}")).to_be_visible(timeout=LOAD_TIMEOUT)


def wait_for_hash(page: Page, key: str, value: str) -> None:
    """Wait until the link (written a moment after a change) holds ``key=value``."""
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.hash.slice(1)).get(k) === v", arg=[key, value], timeout=10_000
    )


def test_dynamics_overlays_b_dashed_over_a_solid(page, tensorboard_server, console_log, request, screenshot):
    open_view(page, tensorboard_server, "dynamics")
    tid(page, "dynamics-ab-toggle").check()
    wait_for_hash(page, "runb", SECOND_RUN)  # the other run, picked on turning A/B on
    chart = tid(page, "dynamics-chart")
    lines_b = chart.locator("path[data-side=b]")
    expect(lines_b.first).to_be_attached(timeout=LOAD_TIMEOUT)
    lines = chart.locator("path[data-side]").evaluate_all(
        """paths => paths.map(p => ({side: p.dataset.side, layer: p.dataset.layer, stroke: p.getAttribute('stroke'),
                                   dash: getComputedStyle(p).strokeDasharray}))"""
    )
    solid = {line["layer"]: line for line in lines if line["side"] == "a"}
    dashed = {line["layer"]: line for line in lines if line["side"] == "b"}
    assert solid and set(dashed) == set(solid), "the same layers on both sides"
    assert all(line["dash"] in ("none", "") for line in solid.values())
    assert all(line["dash"] not in ("none", "") for line in dashed.values())
    assert all(dashed[layer]["stroke"] == solid[layer]["stroke"] for layer in solid), "a layer keeps its colour"
    key = tid(page, "dynamics-ab-key")
    expect(key).to_contain_text(f"A: {MAIN_RUN} (solid)")
    expect(key).to_contain_text(f"B: {SECOND_RUN} (dashed)")
    # B's run turns NaN after NAN_STEP: its marks are B's, hollow, beside A's healthy lines
    marks_b = tid(chart, "dynamics-nan-b")
    expect(marks_b.first).to_be_attached()
    assert min(int(step) for step in marks_b.evaluate_all("marks => marks.map(m => m.dataset.step)")) >= NAN_STEP
    expect(tid(chart, "dynamics-nan")).to_have_count(0)
    screenshot(page, "ab-dynamics")
    expect_no_console_error(console_log, request)


def test_clusters_side_by_side_on_shared_axes(page, tensorboard_server, console_log, request, screenshot):
    open_view(page, tensorboard_server, "clusters", step=MAIN_CHECKPOINTS[-1], runb=SECOND_RUN, stepb=STEP_B)
    scatter_a, scatter_b = tid(page, "clusters-scatter"), tid(page, "clusters-scatter-b")
    expect(scatter_b).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(tid(page, "cluster-card-b")).to_have_count(CLUSTERS, timeout=LOAD_TIMEOUT)
    expect(tid(page, "cluster-card")).to_have_count(CLUSTERS)
    box_a, box_b = scatter_a.bounding_box(), scatter_b.bounding_box()
    assert box_a and box_b
    assert box_b["x"] >= box_a["x"] + box_a["width"] and abs(box_b["y"] - box_a["y"]) < 2, "side by side"
    expect(tid(page, "clusters-title-b")).to_contain_text(f"B: {SECOND_RUN} at step {STEP_B}")
    expect(tid(page, "clusters-ab-status")).to_have_attribute("data-state", "ready")
    # every B card names the A cluster it shares the most images with, or that none does
    partners = tid(page, "cluster-partner")
    expect(partners).to_have_count(CLUSTERS)
    assert all(re.search(r"A's cluster \d+|no A cluster", text) for text in partners.all_inner_texts())
    # an image chosen in B is the selection on both sides
    image = tid(page, "cluster-image-b").first
    index = image.get_attribute("data-index")
    assert index is not None
    image.click()
    wait_for_hash(page, "image", index)
    expect(tid(page, "cluster-cards-b").locator(f"[data-index='{index}']").first).to_have_class(
        re.compile("dv-selected")
    )
    expect_markup_not_rendered(page)
    screenshot(page, "ab-clusters")
    expect_no_console_error(console_log, request)


def test_direct_compare_lays_out_two_runs(page, tensorboard_server, console_log, request, screenshot):
    open_view(page, tensorboard_server, "compare")
    expect(tid(page, "compare-cell").first).to_be_visible(timeout=LOAD_TIMEOUT)
    option = tid(page, "compare-runs").locator(f"input[data-run='{SECOND_RUN}']")
    option.check()
    wait_for_hash(page, "cruns", SECOND_RUN)
    headings = tid(page, "compare-run-heading")
    expect(headings).to_have_count(2, timeout=LOAD_TIMEOUT)
    expect(headings.nth(1)).to_have_text(SECOND_RUN)
    cells_b = tid(page, "compare-grid").locator(f"[data-testid=compare-cell][data-run='{SECOND_RUN}']")
    expect(cells_b.first).to_be_visible(timeout=LOAD_TIMEOUT)
    steps_b = {int(step) for step in cells_b.evaluate_all("cells => cells.map(c => c.dataset.step)")}
    assert steps_b and steps_b <= set(SECOND_CHECKPOINTS)
    expect(tid(page, "view-compare").get_by_test_id("status")).to_have_attribute(
        "data-state", "ready", timeout=LOAD_TIMEOUT
    )
    # "ready" is set as the grid is laid out; its images may still be arriving: wait for them
    # (a sprite that failed to load never gets a width, so this still fails on a broken one).
    page.wait_for_function(
        """run => [...document.querySelectorAll(`[data-testid=compare-grid] [data-testid=compare-cell][data-run="${run}"]`)]
            .every(c => c.complete && c.naturalWidth > 0)""",
        arg=SECOND_RUN,
        timeout=LOAD_TIMEOUT,
    )
    # the link keeps the runs: opening it again shows both runs' rows
    page.reload()
    expect(tid(page, "compare-run-heading")).to_have_count(2, timeout=LOAD_TIMEOUT)
    expect(tid(page, "compare-runs").locator(f"input[data-run='{SECOND_RUN}']")).to_be_checked()
    screenshot(page, "ab-compare")
    expect_no_console_error(console_log, request)


def test_pinning_a_cell_of_b_opens_its_images(page, tensorboard_server, console_log, request, screenshot):
    server = tensorboard_server
    step = MAIN_CHECKPOINTS[-1]
    open_view(page, server, "confusion", step=step, runb=SECOND_RUN, stepb=STEP_B)
    expect(tid(page, "confusion-cell-b")).to_have_count(CELLS, timeout=LOAD_TIMEOUT)
    answer = server.get_json("confusion_diff", run=MAIN_RUN, step=step, run_b=SECOND_RUN, step_b=STEP_B)
    counts_b = answer["counts_b"]
    # the fullest cell of B, off the diagonal when B has a mistake
    cells = [(t, p) for t, row in enumerate(counts_b) for p, count in enumerate(row) if count]
    t, p = max(cells, key=lambda cell: (cell[0] != cell[1], counts_b[cell[0]][cell[1]]))
    cell = tid(page, "confusion-matrix-b").locator(f"[data-true='{t}'][data-pred='{p}']")
    cell.hover()
    readout = tid(page, "confusion-ab-readout")
    expect(readout).to_contain_text(f"A {answer['counts_a'][t][p]} · B {counts_b[t][p]} · B minus A")
    cell.click()
    wait_for_hash(page, "cell", f"{t},{p}")
    expect(tid(page, "confusion-matrix").locator(f"[data-true='{t}'][data-pred='{p}']")).to_have_class(
        re.compile("dv-cell-pinned")
    )
    panel = tid(page, "confusion-examples-b")
    expect(panel).to_be_visible(timeout=LOAD_TIMEOUT)
    images = tid(panel, "confusion-example-b")
    expect(images.first).to_be_visible(timeout=LOAD_TIMEOUT)
    index = images.first.get_attribute("data-index")
    assert index is not None
    images.first.click()
    wait_for_hash(page, "image", index)
    line = tid(page, "confusion-ab-image")
    expect(line).to_contain_text(f"image #{index}")
    expect(line).to_contain_text("A predicted")
    expect(line).to_contain_text("B predicted")
    expect_markup_not_rendered(page)
    screenshot(page, "ab-confusion-cell")
    expect_no_console_error(console_log, request)
