"""What each unit responds to, in Chromium against the real `tensorboard`, checked as a user would.

The unit panel opened from the Filters view (a clicked filter) and from the Units view (a clicked row of
the unit x class matrix): its top-image crops, its class-mean bars, its selectivity; the Confusion view's
units shared by two confused classes; and the Grad-CAM overlay of a probe image. Elements are found by
their ``data-testid``; expected numbers come from the plugin's own routes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Locator, Page, expect

from tests.e2e.e2e_data import CLASS_NAMES, MAIN_CHECKPOINTS, MAIN_RUN
from tests.e2e.page import LOAD_TIMEOUT, expect_markup_not_rendered, expect_no_console_error, tid

expect.set_options(timeout=10_000)


# JavaScript: whether a canvas shows anything (some colour), and the strongest opacity on it.
CANVAS_HAS_COLOUR = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) return true; return false; }"""
CANVAS_MAX_ALPHA = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let most = 0; for (let i = 3; i < d.length; i += 4) most = Math.max(most, d[i]); return most; }"""


# --------------------------------------------------------------------------------------------- helpers


def open_dashboard(page: Page, server: Any, **state: Any) -> None:
    """Open the dashboard at a link naming ``state`` (run, layer, view, ...) and wait for the timeline."""
    page.goto(server.entry_url + "#" + urlencode({"run": MAIN_RUN, **state}))
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)
    expect(tid(page, "run-select")).to_have_value(MAIN_RUN)


def current_step(page: Page) -> int:
    return int(re.search(r"\d+", tid(page, "timeline-step").inner_text()).group())


def run_summary(server: Any) -> dict:
    return next(run for run in server.get_json("index")["runs"] if run["run"] == MAIN_RUN)


def units_layer(server: Any) -> str:
    """The first logged layer (in the run's order) with unit records and weights: a filter bank to click."""
    layers = [layer for layer in run_summary(server)["layers"] if layer.get("has_units") and layer["has_weights"]]
    assert layers, "the e2e run logged no unit records (the units collector)"
    return layers[0]["name"]


def selectivity_shown(panel: Locator) -> float:
    return float(panel.locator('[data-fact="selectivity"]').inner_text())


def expect_unit_panel_shows(panel: Locator, answer: dict) -> None:
    """The panel shows ``answer`` (a ``top_images`` answer): crops drawn, bars, selectivity, top class."""
    crops = tid(panel, "unit-crop")
    expect(crops).to_have_count(min(9, len(answer["images"])), timeout=LOAD_TIMEOUT)
    assert [int(crops.nth(i).get_attribute("data-index")) for i in range(crops.count())] == answer["images"][:9]
    expect(crops.first).to_be_visible()
    assert crops.first.evaluate(CANVAS_HAS_COLOUR), "the best crop is blank: the sprite was not drawn"
    bars = tid(panel, "unit-class-means").locator(".dv-bar-row")
    expect(bars).to_have_count(len(CLASS_NAMES))
    expect(tid(panel, "unit-class-means")).to_contain_text(CLASS_NAMES[0])  # as text, markup and all
    expect(bars.nth(answer["top_class"])).to_have_class(re.compile(r"dv-unit-top"))
    assert selectivity_shown(panel) == pytest.approx(answer["selectivity"], rel=0.06, abs=2e-3)
    expect(panel.locator('[data-fact="top class"]')).to_have_text(CLASS_NAMES[answer["top_class"]])
    expect(tid(panel, "unit-status")).not_to_have_attribute("data-state", "error")


# ------------------------------------------------------------------------------------------- filters


def test_filters_view_opens_the_unit_panel_of_a_clicked_filter(
    page, tensorboard_server, screenshot, console_log, request
):
    server = tensorboard_server
    layer = units_layer(server)
    open_dashboard(page, server, layer=layer, view="filters")
    view = tid(page, "view-filters")
    sprite = tid(page, "filters-sprite")
    page.wait_for_function(
        """layer => { const img = document.querySelector('[data-testid="filters-sprite"]');
                      return !!img && new URL(img.src, location.href).searchParams.get('layer') === layer
                             && img.complete && img.naturalWidth > 0; }""",
        arg=layer,
        timeout=LOAD_TIMEOUT,
    )
    expect(tid(page, "filter-info")).to_contain_text("filters.", timeout=LOAD_TIMEOUT)  # the layout is in
    step = current_step(page)
    layout = server.get_json("filters_layout", run=MAIN_RUN, layer=layer, step=step, norm="filter")
    unit = 1 if layout["filters"] > 1 else 0
    row, col = divmod(unit, layout["filter_grid"][1])
    x = col * (layout["tile"][1] + layout["tile_gap"]) + layout["tile"][1] / 2
    y = row * (layout["tile"][0] + layout["tile_gap"]) + layout["tile"][0] / 2
    box = sprite.bounding_box()
    sprite.click(position={"x": x * box["width"] / layout["width"], "y": y * box["height"] / layout["height"]})
    panel = tid(view, "unit-panel")
    try:
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("data-unit", str(unit), timeout=LOAD_TIMEOUT)
        expect(panel).to_have_attribute("data-layer", layer)
        answer = server.get_json("top_images", run=MAIN_RUN, layer=layer, unit=unit, step=step)
        expect_unit_panel_shows(panel, answer)

        # Pointing at a crop shows its whole image with the unit's box; clicking selects that image.
        crop = tid(panel, "unit-crop").nth(2)
        crop.hover()
        expect(tid(panel, "unit-preview")).to_have_attribute("data-index", str(answer["images"][2]))
        expect(tid(panel, "unit-box")).to_be_visible()
        expect(tid(panel, "unit-box")).to_have_attribute("data-box", ",".join(map(str, answer["boxes"][2])))
        crop.click()
        expect(tid(page, "selected-image")).to_have_attribute("data-index", str(answer["images"][2]))

        # Colour by unit: one wash per filter, the dead ones crossed.
        tid(page, "filters-unit-colours").check()
        tints = tid(page, "unit-colours").locator(".dv-unit-tint")
        expect(tints).to_have_count(layout["filters"], timeout=LOAD_TIMEOUT)
        units = server.get_json("units", run=MAIN_RUN, layer=layer, step=step)["units"]
        dead = [entry["unit"] for entry in units if entry["dead"]]
        expect(tid(page, "unit-colours").locator(".dv-unit-dead")).to_have_count(
            len([u for u in dead if u < layout["filters"]])
        )
        expect(tid(page, "unit-colours-legend")).to_contain_text(CLASS_NAMES[1])
        expect_markup_not_rendered(page)
    finally:
        screenshot(page, "units-filters")
    expect_no_console_error(console_log, request)


def test_the_unit_panel_follows_the_timeline(page, tensorboard_server, console_log, request):
    server = tensorboard_server
    layer = units_layer(server)
    first, second = MAIN_CHECKPOINTS[0], MAIN_CHECKPOINTS[1]
    open_dashboard(page, server, layer=layer, view="filters", step=first, unit=0)
    panel = tid(tid(page, "view-filters"), "unit-panel")
    expect(panel).to_have_attribute("data-step", str(first), timeout=LOAD_TIMEOUT)
    tid(page, "timeline-step-forward").click()
    expect(panel).to_have_attribute("data-step", str(second), timeout=LOAD_TIMEOUT)
    expect_unit_panel_shows(panel, server.get_json("top_images", run=MAIN_RUN, layer=layer, unit=0, step=second))
    stability = tid(panel, "unit-stability")
    expect(stability.locator("path.dv-line")).to_have_count(1)
    expect(stability.locator("line.dv-rule")).to_have_count(1)
    expect_no_console_error(console_log, request)


# --------------------------------------------------------------------------------------------- units


def test_units_view_sorts_the_units_and_opens_the_unit_panel(
    page, tensorboard_server, screenshot, console_log, request
):
    server = tensorboard_server
    layer = units_layer(server)
    open_dashboard(page, server, layer=layer, view="units")
    view = tid(page, "view-units")
    expect(view).to_be_visible()
    step = current_step(page)
    units = server.get_json("units", run=MAIN_RUN, layer=layer, step=step)
    cells = tid(view, "units-cell")
    try:
        expect(cells).to_have_count(len(units["units"]) * len(CLASS_NAMES), timeout=LOAD_TIMEOUT)
        expect(tid(view, "units-caveats")).to_contain_text("does not mean the unit matters for the decision")
        expect(tid(view, "units-caveats")).to_contain_text("rectified output")

        tid(page, "units-sort").select_option("selectivity")
        expected = sorted(units["units"], key=lambda u: (u["dead"], -float(u["selectivity"]), u["unit"]))
        rows = view.locator('[data-testid="units-matrix"] .dv-matrix-row')
        expect(rows).to_have_count(len(expected))
        assert [int(rows.nth(i).get_attribute("data-unit")) for i in range(rows.count())] == [
            u["unit"] for u in expected
        ]

        chosen = expected[0]["unit"]
        view.locator('[data-testid="units-cell"][data-row="0"]').first.click()
        panel = tid(view, "unit-panel")
        expect(panel).to_have_attribute("data-unit", str(chosen), timeout=LOAD_TIMEOUT)
        expect_unit_panel_shows(panel, server.get_json("top_images", run=MAIN_RUN, layer=layer, unit=chosen, step=step))
        expect(view.locator(".dv-cell-selected[data-testid='units-cell']")).to_have_count(len(CLASS_NAMES))

        histogram = tid(view, "units-histogram").locator(".dv-bar-row")
        expect(histogram).to_have_count(10)
        assert sum(int(histogram.nth(i).get_attribute("data-count")) for i in range(10)) == len(units["units"])
        expect(tid(view, "units-history").locator("path.dv-line")).to_have_count(2)
        expect_markup_not_rendered(page)
    finally:
        screenshot(page, "units-view")
    expect_no_console_error(console_log, request)


def test_confusion_view_lists_units_shared_by_two_confused_classes(page, tensorboard_server, console_log, request):
    server = tensorboard_server
    step = MAIN_CHECKPOINTS[0]  # the untrained model's mistakes fill cells off the diagonal
    open_dashboard(page, server, view="confusion", step=step)
    counts = server.get_json("confusion", run=MAIN_RUN, step=step)["counts"]
    off_diagonal = [(t, p) for t in range(len(counts)) for p in range(len(counts)) if t != p and counts[t][p]]
    if not off_diagonal:
        pytest.skip("the e2e run's first checkpoint confuses no classes")
    a, b = off_diagonal[0]
    expect(tid(page, "confusion-cell")).to_have_count(len(CLASS_NAMES) ** 2, timeout=LOAD_TIMEOUT)
    page.locator(f'[data-testid="confusion-cell"][data-true="{a}"][data-pred="{b}"]').click()
    pairs = tid(page, "confusion-pair-units")
    expect(pairs).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(pairs).to_contain_text(CLASS_NAMES[a])
    listed = server.get_json("class_pair_units", run=MAIN_RUN, step=step, a=a, b=b)["units"]
    items = tid(pairs, "pair-unit")
    expect(items).to_have_count(len(listed))
    if listed:
        items.first.click()
        panel = tid(tid(page, "view-confusion"), "unit-panel")
        expect(panel).to_have_attribute("data-unit", str(listed[0]["unit"]), timeout=LOAD_TIMEOUT)
        expect(panel).to_have_attribute("data-layer", listed[0]["layer"])
        expect(tid(panel, "unit-crop").first).to_be_visible()
    else:
        expect(pairs).to_contain_text("No unit responds to both")
    expect_markup_not_rendered(page)
    expect_no_console_error(console_log, request)


# ------------------------------------------------------------------------------------------ Grad-CAM


def test_a_probe_image_shows_its_gradcam_overlay(page, tensorboard_server, screenshot, console_log, request):
    server = tensorboard_server
    summary = run_summary(server)
    assert any(layer.get("has_attribution") for layer in summary["layers"]), "the e2e run logged no Grad-CAM"
    step = MAIN_CHECKPOINTS[-1]
    probe = server.get_json("predictions", run=MAIN_RUN, step=step)["probe_images"][0]
    open_dashboard(page, server, view="filters", step=step, image=probe)
    overlay = tid(page, "gradcam-overlay")
    try:
        expect(overlay).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(overlay).to_have_attribute("data-step", str(step))
        answer = server.get_json("attribution", run=MAIN_RUN, image=probe, step=step)
        expect(overlay).to_have_attribute("data-layer", answer["layer"])
        caption = tid(page, "gradcam-caption")
        expect(caption).to_contain_text(answer["layer"])
        expect(caption).to_contain_text(f"for class {CLASS_NAMES[answer['target']]}")
        assert overlay.evaluate("c => [c.width, c.height]") == [answer["shape"][1], answer["shape"][0]]
        if max(float(v) for v in answer["values"]) > 0:
            assert overlay.evaluate(CANVAS_MAX_ALPHA) > 0, "the Grad-CAM overlay is fully transparent"
        # It lies over the selected image's thumbnail, the same size.
        thumb = tid(page, "selected-image").locator("canvas").first
        assert overlay.bounding_box() == pytest.approx(thumb.bounding_box(), abs=1)

        tid(page, "timeline-step-back").click()
        expect(overlay).to_have_attribute("data-step", str(MAIN_CHECKPOINTS[-2]), timeout=LOAD_TIMEOUT)
        tid(page, "gradcam-toggle").uncheck()
        expect(overlay).to_be_hidden()
        tid(page, "gradcam-toggle").check()
        expect(overlay).to_be_visible(timeout=LOAD_TIMEOUT)
    finally:
        screenshot(page, "units-gradcam")
    expect_no_console_error(console_log, request)
