"""Feature visualization in Chromium against the real `tensorboard`, checked as a user would see it.

The shared e2e logs do not render feature visualizations, so this module writes its own small log:
the test network trained a few steps under ``DeepViz(..., feature_vis=FeatureVis(...))`` with a
handful of cheap optimization steps, rendered at every other checkpoint (so some checkpoints show an
earlier render). It checks the unit panel's image beside the top images, the Filters view's feature
visualization content (a cell opens its unit), Direct Compare's film of rendered checkpoints x
layers, and that playing the timeline asks for each render's sprite once. Expected values come from
the plugin's own routes; elements are found by their ``data-testid``.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TensorBoardServer, _start_tensorboard, _stop
from tests.e2e.page import LOAD_TIMEOUT, expect_markup_not_rendered, expect_no_console_error, tid

expect.set_options(timeout=10_000)

RUN = "film"
CHECKPOINTS = [0, 2, 4, 6]
EVERY = 2  # rendered at checkpoints 0 and 4: checkpoints 2 and 6 show the render before them
RENDERED = CHECKPOINTS[::EVERY]
LAYERS = ["stem.0", "stage.0.conv2"]  # stage.0.conv1 has none: the panels say so
PLAIN_LAYER = "stage.0.conv1"
UNITS = 4  # of 8 channels: the most variable ones, so cells and units differ
CLASS_NAMES = ["<b>cat</b>", "<img src=x onerror=alert(1)>", 'dog & "friends"', "plain"]

# JavaScript: whether a canvas (or an image drawn onto one) shows a picture, not one flat colour.
CANVAS_IS_PICTURE = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set(); let alpha = 0;
    for (let i = 0; i < d.length; i += 4) { seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]); alpha = Math.max(alpha, d[i + 3]); }
    return c.width > 0 && alpha > 0 && seen.size > 8; }"""
IMAGE_IS_PICTURE = (
    """img => { if (!img.complete || !img.naturalWidth) return false;
    const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    c.getContext('2d').drawImage(img, 0, 0); return ("""
    + CANVAS_IS_PICTURE
    + """)(c); }"""
)


# ------------------------------------------------------------------------------------------ the log


def _write_log(logdir: str) -> None:
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from tensorboard_deepviz import DeepViz, FeatureVis
    from tests.support.models import SmallResNet, make_images, train_logged

    torch.manual_seed(1)
    model = SmallResNet(num_classes=len(CLASS_NAMES))
    images, labels = make_images(48, num_classes=len(CLASS_NAMES))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = SummaryWriter(os.path.join(logdir, RUN))
    # A few optimization steps only: the images are rough, which is all these checks need.
    settings = FeatureVis(layers=LAYERS, units=UNITS, steps=8, warm_steps=4, every=EVERY)
    with DeepViz(
        writer, model, (images, labels), class_names=CLASS_NAMES, probe=2, clusters=2, feature_vis=settings
    ) as viz:
        # Flushed at each checkpoint: the render is written before the next one is due, no deferral.
        train_logged(viz, model, optimizer, images, labels, CHECKPOINTS, after_checkpoint=lambda step: viz.flush())
    writer.close()


@pytest.fixture(scope="module")
def film_server(tmp_path_factory) -> Iterator[TensorBoardServer]:
    """TensorBoard on this module's log, ready once `index` lists its checkpoints and rendered steps."""
    logdir = str(tmp_path_factory.mktemp("e2e_feature_vis"))
    _write_log(logdir)
    server = _start_tensorboard(logdir, {RUN: CHECKPOINTS})
    try:
        deadline = time.monotonic() + 60
        while run_summary(server)["steps_by_kind"].get("feature_vis") != RENDERED:
            assert time.monotonic() < deadline, f"index never listed the renders: {run_summary(server)}"
            time.sleep(0.25)
        yield server
    finally:
        _stop(server.process)


# --------------------------------------------------------------------------------------------- helpers


def run_summary(server: TensorBoardServer) -> dict:
    return next(run for run in server.get_json("index")["runs"] if run["run"] == RUN)


def layout(server: TensorBoardServer, layer: str, step: int) -> dict:
    return server.get_json("feature_vis_layout", run=RUN, layer=layer, step=step)


def open_dashboard(page: Page, server: TensorBoardServer, **state: Any) -> None:
    page.goto(server.entry_url + "#" + urlencode({"run": RUN, **state}))
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)
    expect(tid(page, "run-select")).to_have_value(RUN)


def expect_step(page: Page, step: int) -> None:
    expect(tid(page, "timeline-step")).to_have_text(re.compile(rf"(?<!\d){step}(?!\d)"))


# ----------------------------------------------------------------------------------------- the tests


def test_the_unit_panel_shows_the_units_feature_visualization(page, film_server, screenshot, console_log, request):
    server = film_server
    layer = LAYERS[0]
    rendered = layout(server, layer, CHECKPOINTS[-1])
    assert rendered["step"] == RENDERED[-1]
    unit = rendered["units"][1]
    open_dashboard(page, server, layer=layer, step=CHECKPOINTS[-1], unit=unit, view="filters")
    panel = tid(tid(page, "view-filters"), "unit-panel")
    fv = tid(panel, "unit-fv")
    try:
        # Checkpoint 6 has no render of its own: the image of step 4, and the panel says so.
        expect(fv).to_have_attribute("data-state", "earlier", timeout=LOAD_TIMEOUT)
        expect(fv).to_have_attribute("data-step", str(RENDERED[-1]))
        expect(tid(fv, "unit-fv-caption")).to_contain_text(
            f"Rendered at step {RENDERED[-1]}, an earlier checkpoint (the latest render at or before step {CHECKPOINTS[-1]})"
        )
        image = tid(fv, "unit-fv-image")
        expect(image).to_be_visible()
        assert image.evaluate(CANVAS_IS_PICTURE), "the unit's feature visualization is blank"
        box = image.bounding_box()
        assert box and box["width"] >= 100, box  # drawn large enough to see, beside the top images
        expect(tid(panel, "unit-crop").first).to_be_visible(timeout=LOAD_TIMEOUT)
        screenshot(panel, "feature-vis-unit-panel")

        # At a rendered checkpoint: its own image.
        tid(page, "timeline-step-back").click()
        expect_step(page, RENDERED[-1])
        expect(fv).to_have_attribute("data-state", "ready", timeout=LOAD_TIMEOUT)
        expect(tid(fv, "unit-fv-caption")).to_contain_text(f"Rendered at step {RENDERED[-1]} ·")

        # A unit that was not rendered, and a layer without feature visualization: said, not drawn.
        missing = next(u for u in range(8) if u not in rendered["units"])
        open_dashboard(page, server, layer=layer, step=RENDERED[-1], unit=missing, view="filters")
        expect(fv).to_have_attribute("data-state", "none", timeout=LOAD_TIMEOUT)
        expect(tid(fv, "unit-fv-caption")).to_contain_text(f"Unit {missing} was not rendered at step {RENDERED[-1]}")
        expect(tid(fv, "unit-fv-image")).to_be_hidden()
        open_dashboard(page, server, layer=PLAIN_LAYER, step=RENDERED[-1], unit=0, view="filters")
        expect(tid(fv, "unit-fv-caption")).to_have_text(
            f"Nothing rendered: layer {PLAIN_LAYER} has no feature visualization; layers with it: {', '.join(LAYERS)}.",
            timeout=LOAD_TIMEOUT,
        )
        expect(tid(panel, "unit-crop").first).to_be_visible(timeout=LOAD_TIMEOUT)
        expect_markup_not_rendered(page)
    finally:
        screenshot(page, "feature-vis-unit-panel-page")
    expect_no_console_error(console_log, request)


def test_the_filters_view_shows_feature_visualizations_and_a_cell_opens_its_unit(
    page, film_server, screenshot, console_log, request
):
    server = film_server
    layer = LAYERS[1]
    step = RENDERED[-1]
    answer = layout(server, layer, step)
    open_dashboard(page, server, layer=layer, step=step, view="filters")
    view = tid(page, "view-filters")
    try:
        # The menu swaps the filter bank for the units' images.
        expect(tid(page, "filters-sprite")).to_be_visible(timeout=LOAD_TIMEOUT)
        tid(page, "filters-show").select_option("feature_vis")
        bank = tid(view, "fv-bank")
        expect(bank).to_be_visible()
        expect(tid(page, "filters-sprite")).to_be_hidden()
        cells = tid(bank, "fv-cell")
        expect(cells).to_have_count(len(answer["units"]), timeout=LOAD_TIMEOUT)
        assert [int(cells.nth(i).get_attribute("data-unit")) for i in range(cells.count())] == answer["units"]
        expect(bank).to_have_attribute("data-step", str(step))
        images = tid(bank, "fv-image")
        expect(images).to_have_count(len(answer["units"]) - sum(answer["no_signal"]))
        for i in range(images.count()):
            assert images.nth(i).evaluate(CANVAS_IS_PICTURE), f"cell {i} is blank"
        expect(tid(view, "status")).to_contain_text(f"{layer}")
        expect(tid(view, "status")).to_contain_text(f"rendered at step {step}")
        # The link keeps the choice (the hash is written shortly after a change).
        page.wait_for_function("() => new URLSearchParams(location.hash.slice(1)).get('show') === 'feature_vis'")
        screenshot(view, "feature-vis-filters")

        # A cell is its unit: clicking it opens the unit panel with that unit's image.
        position = len(answer["units"]) - 1
        unit = answer["units"][position]
        cells.nth(position).click()
        panel = tid(view, "unit-panel")
        expect(panel).to_have_attribute("data-unit", str(unit), timeout=LOAD_TIMEOUT)
        expect(cells.nth(position)).to_have_class(re.compile(r"dv-selected"))
        expect(tid(panel, "unit-fv")).to_have_attribute("data-state", "ready", timeout=LOAD_TIMEOUT)
        assert tid(panel, "unit-fv-image").evaluate(CANVAS_IS_PICTURE)
        expect(tid(view, "fv-info").locator('[data-fact="unit"]')).to_have_text(f"{unit} (selected)")

        # Back to the weights.
        tid(page, "filters-show").select_option("weights")
        expect(tid(page, "filters-sprite")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(bank).to_be_hidden()
        expect_markup_not_rendered(page)
    finally:
        screenshot(page, "feature-vis-filters-page")
    expect_no_console_error(console_log, request)


def test_direct_compare_lays_out_the_film(page, film_server, screenshot, console_log, request):
    server = film_server
    open_dashboard(page, server, view="compare")
    view = tid(page, "view-compare")
    try:
        expect(tid(page, "compare-cell").first).to_be_visible(timeout=LOAD_TIMEOUT)  # weights first
        tid(page, "compare-content").select_option("feature_vis")
        grid = tid(view, "compare-grid")
        expect(grid).to_have_attribute("data-kind", "feature_vis", timeout=LOAD_TIMEOUT)
        cells = tid(grid, "compare-cell")
        expect(cells).to_have_count(len(RENDERED) * len(LAYERS))
        assert [
            (int(cells.nth(i).get_attribute("data-step")), cells.nth(i).get_attribute("data-layer"))
            for i in range(cells.count())
        ] == [(step, layer) for step in RENDERED for layer in LAYERS]
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="compare-cell"]')]
                     .every(img => img.complete && img.naturalWidth > 0)""",
            timeout=LOAD_TIMEOUT,
        )
        for i in range(cells.count()):
            assert cells.nth(i).evaluate(IMAGE_IS_PICTURE), f"compare cell {i} is blank"
        first = layout(server, LAYERS[0], RENDERED[0])
        size = cells.first.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size == [first["width"], first["height"]]
        expect(tid(view, "status")).to_have_attribute("data-state", "ready", timeout=LOAD_TIMEOUT)
        expect(tid(view, "status")).to_contain_text("feature visualizations")
        # The timeline marks the row of the render the selected checkpoint shows.
        expect_step(page, CHECKPOINTS[-1])
        current = grid.locator("tbody tr.dv-current")
        expect(current).to_have_attribute("data-step", str(RENDERED[-1]))
        screenshot(view, "feature-vis-compare")
        # A cell opens its render in the Filters view.
        cells.first.click()
        tid(page, "tab-filters").click()
        expect(tid(page, "fv-bank")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(tid(page, "fv-bank")).to_have_attribute("data-step", str(RENDERED[0]), timeout=LOAD_TIMEOUT)
    finally:
        screenshot(page, "feature-vis-compare-page")
    expect_no_console_error(console_log, request)


def test_playing_animates_the_film_and_loads_each_render_once(page, film_server, console_log, request):
    server = film_server
    layer = LAYERS[0]
    sprites: list[str] = []
    page.on(
        "request",
        lambda req: sprites.append(req.url) if "/feature_vis_sprite?" in req.url else None,
    )
    open_dashboard(page, server, layer=layer, step=CHECKPOINTS[0], view="filters", show="feature_vis")
    bank = tid(page, "fv-bank")
    expect(tid(bank, "fv-cell").first).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(bank).to_have_attribute("data-step", str(RENDERED[0]))
    shown: list[tuple[int, str]] = []
    page.expose_function(
        "recordFrame", lambda step, rendered: shown.append((int(step), rendered)) if step and rendered else None
    )
    page.evaluate(
        """() => new MutationObserver(() => {
               const bank = document.querySelector('[data-testid="fv-bank"]');
               recordFrame(bank.getAttribute('data-requested-step'), bank.getAttribute('data-step'));
           }).observe(document.querySelector('[data-testid="fv-bank"]'), {attributes: true})"""
    )
    tid(page, "timeline-play").click()
    expect_step(page, CHECKPOINTS[-1])
    expect(tid(page, "timeline-play")).to_have_attribute("aria-pressed", "false", timeout=LOAD_TIMEOUT)
    expect(bank).to_have_attribute("data-requested-step", str(CHECKPOINTS[-1]))
    expect(bank).to_have_attribute("data-step", str(RENDERED[-1]))
    # Every frame showed the render at or before its checkpoint.
    expected = {step: max(r for r in RENDERED if r <= step) for step in CHECKPOINTS}
    assert shown and all(int(rendered) == expected[step] for step, rendered in shown), shown
    # One request per render, none for the checkpoints in between.
    steps = Counter(parse_qs(urlsplit(url).query)["step"][0] for url in sprites)
    assert steps == Counter({str(step): 1 for step in RENDERED}), sprites
    expect_no_console_error(console_log, request)
