"""The deepviz dashboard in Chromium, served by the real `tensorboard` command, checked as a user would.

Elements are found by their ``data-testid`` (the dashboard's DOM contract); the view tests open the page
TensorBoard puts in the tab's iframe (``data/plugin_entry.html?name=deepviz``) directly: it is the same page.
"""

from __future__ import annotations

import re
import time
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Locator, Page, expect

from tests.e2e.e2e_data import CLASS_NAMES, CLUSTERS, MAIN_CHECKPOINTS, MAIN_RUN, SECOND_CHECKPOINTS, SECOND_RUN
from tests.e2e.page import LOAD_TIMEOUT, expect_markup_not_rendered, tid
from tests.support.models import SMALL_RESNET_LAYERS

expect.set_options(timeout=10_000)

VIEWS = ["filters", "confusion", "clusters", "compare", "dynamics"]


# --------------------------------------------------------------------------------------------- helpers


def open_dashboard(page: Page, server: Any, run: str = MAIN_RUN, hash: str = "") -> None:
    """Open the dashboard page and make sure ``run`` is the selected run."""
    page.goto(server.entry_url + hash)
    expect(tid(page, "timeline")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)
    select = tid(page, "run-select")
    if select.evaluate("el => el.value") != run:
        select.select_option(run)
    expect(tid(page, "run-select")).to_have_value(run)


def current_step(page: Page) -> int:
    text = tid(page, "timeline-step").inner_text()
    match = re.search(r"-?\d+", text)
    assert match, f"timeline-step shows no step: {text!r}"
    return int(match.group())


def expect_step(page: Page, step: int, timeout: float = 10_000) -> None:
    expect(tid(page, "timeline-step")).to_have_text(re.compile(rf"(?<!\d){step}(?!\d)"), timeout=timeout)


def show_view(page: Page, name: str) -> Locator:
    tid(page, f"tab-{name}").click()
    view = tid(page, f"view-{name}")
    expect(view).to_be_visible()
    return view


def wait_until_image_loaded(page: Page, test_id: str, timeout: float = LOAD_TIMEOUT) -> None:
    page.wait_for_function(
        """id => { const img = document.querySelector(`[data-testid="${id}"]`);
                   return !!img && img.complete && img.naturalWidth > 0 && img.naturalHeight > 0; }""",
        arg=test_id,
        timeout=timeout,
    )


def wait_until_sprite_shows(page: Page, layer: str, timeout: float = LOAD_TIMEOUT) -> None:
    """Wait until ``filters-sprite`` is a loaded picture of ``layer`` (its src's ``layer`` parameter)."""
    page.wait_for_function(
        """layer => { const img = document.querySelector('[data-testid="filters-sprite"]');
                      return !!img && new URL(img.src, location.href).searchParams.get('layer') === layer
                             && img.complete && img.naturalWidth > 0; }""",
        arg=layer,
        timeout=timeout,
    )


def wait_for_hash_to_settle(page: Page, before: str, timeout: float = 5.0) -> None:
    """Wait until the URL hash differs from ``before`` and then stays the same for half a second."""
    page.wait_for_function("before => location.hash !== before", arg=before, timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    current = page.evaluate("() => location.hash")
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        latest = page.evaluate("() => location.hash")
        if latest == current:
            return
        current = latest


def image_state(locator: Locator) -> dict:
    return locator.evaluate(
        "img => ({src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,"
        " height: img.naturalHeight, step: img.getAttribute('data-step')})"
    )


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def expect_no_error_status(view: Locator) -> None:
    status = view.get_by_test_id("status")
    for index in range(status.count()):
        expect(status.nth(index)).not_to_contain_text(re.compile(r"error|fail", re.I))


# ------------------------------------------------------------------------------------ in TensorBoard


def test_deepviz_tab_in_tensorboard_loads_the_dashboard(page, tensorboard_server, screenshot):
    page.goto(tensorboard_server.url + "/#deepviz")
    tab = page.get_by_role("tab", name=re.compile(r"^\s*deepviz\s*$", re.I))
    expect(tab).to_be_visible(timeout=LOAD_TIMEOUT)
    iframe = page.locator('iframe[src*="plugin_entry.html?name=deepviz"]')
    expect(iframe).to_be_visible(timeout=LOAD_TIMEOUT)
    dashboard = page.frame_locator('iframe[src*="plugin_entry.html?name=deepviz"]')
    try:
        expect(tid(dashboard, "timeline")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(tid(dashboard, "run-select")).to_be_visible()
        expect(tid(dashboard, "view-filters")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(tid(dashboard, "filters-sprite")).to_be_visible(timeout=LOAD_TIMEOUT)
    finally:
        screenshot(page, "tensorboard")


def test_run_select_lists_every_run(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    expect(tid(page, "run-select")).to_contain_text(MAIN_RUN)
    expect(tid(page, "run-select")).to_contain_text(SECOND_RUN)
    slider = tid(page, "timeline-slider")
    expect(slider).to_have_attribute("max", str(len(MAIN_CHECKPOINTS) - 1))
    tid(page, "run-select").select_option(SECOND_RUN)
    expect(slider).to_have_attribute("max", str(len(SECOND_CHECKPOINTS) - 1))


# ------------------------------------------------------------------------------------------- views


def test_filters_view_shows_the_filter_sprite_and_the_graph(page, tensorboard_server, screenshot):
    open_dashboard(page, tensorboard_server)
    view = show_view(page, "filters")
    try:
        sprite = tid(page, "filters-sprite")
        expect(sprite).to_be_visible(timeout=LOAD_TIMEOUT)
        wait_until_image_loaded(page, "filters-sprite")
        expect(sprite).to_have_attribute("data-step", str(current_step(page)))
        assert query_of(image_state(sprite)["src"]).get("run") == MAIN_RUN
        expect(tid(page, "graph")).to_be_visible()
        for layer in SMALL_RESNET_LAYERS:  # the graph may also show modules that were not logged
            expect(page.locator(f'[data-testid="graph-node"][data-layer="{layer}"]')).to_be_visible()
        expect(tid(page, "corpus-item").first).to_be_visible(timeout=LOAD_TIMEOUT)
        expect_no_error_status(view)
    finally:
        screenshot(page, "filters")
        if tid(page, "graph").count():
            screenshot(tid(page, "graph").first, "graph")


def test_confusion_view_shows_one_cell_per_class_pair(page, tensorboard_server, screenshot):
    open_dashboard(page, tensorboard_server)
    view = show_view(page, "confusion")
    try:
        expect(tid(page, "confusion-matrix")).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(tid(page, "confusion-cell")).to_have_count(len(CLASS_NAMES) ** 2, timeout=LOAD_TIMEOUT)
        expect(tid(page, "confusion-accuracy")).to_have_text(re.compile(r"\d"))
        expect_no_error_status(view)
    finally:
        screenshot(page, "confusion")


def test_hovering_a_confusion_cell_shows_its_images(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    show_view(page, "confusion")
    tid(page, "timeline-rewind").click()  # the untrained model's mistakes fill cells off the diagonal
    expect_step(page, MAIN_CHECKPOINTS[0])
    expect(tid(page, "confusion-cell")).to_have_count(len(CLASS_NAMES) ** 2, timeout=LOAD_TIMEOUT)
    confusion = tensorboard_server.get_json("confusion", run=MAIN_RUN, step=current_step(page))
    counts = confusion["counts"]
    cells = [(t, p) for t in range(len(counts)) for p in range(len(counts)) if counts[t][p] > 0]
    off_diagonal = [(t, p) for t, p in cells if t != p]
    true_class, predicted = (off_diagonal or cells)[0]
    cell = page.locator(f'[data-testid="confusion-cell"][data-true="{true_class}"][data-pred="{predicted}"]')
    expect(cell).to_have_count(1)
    cell.hover()
    examples = tid(tid(page, "confusion-examples"), "confusion-example")
    expect(examples.first).to_be_visible()
    shown = {int(examples.nth(i).get_attribute("data-index")) for i in range(examples.count())}
    expected = set(confusion["cell_images"][true_class][predicted])
    assert shown and shown <= expected, (true_class, predicted, sorted(shown), sorted(expected))


def test_clusters_view_shows_cluster_cards(page, tensorboard_server, screenshot):
    open_dashboard(page, tensorboard_server)
    view = show_view(page, "clusters")
    try:
        cards = tid(page, "cluster-card")
        expect(cards.first).to_be_visible(timeout=LOAD_TIMEOUT)
        clusters = tensorboard_server.get_json("clusters", run=MAIN_RUN, step=current_step(page))
        nonempty = sum(1 for size in clusters["sizes"] if size > 0)
        assert nonempty <= cards.count() <= CLUSTERS, (cards.count(), clusters["sizes"])
        expect(tid(cards.first, "cluster-image").first).to_be_visible()
        expect(tid(page, "clusters-scatter")).to_be_visible()
        expect_no_error_status(view)
    finally:
        screenshot(page, "clusters")


def test_clicking_a_cluster_image_selects_it_in_filters(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    show_view(page, "clusters")
    images = tid(page, "cluster-image")
    expect(images.first).to_be_visible(timeout=LOAD_TIMEOUT)
    already: Optional[str] = None
    if tid(page, "selected-image").count():
        already = tid(page, "selected-image").first.get_attribute("data-index")
    candidates = [images.nth(i) for i in range(images.count())]
    target = next((image for image in candidates if image.get_attribute("data-index") != already), candidates[0])
    index = target.get_attribute("data-index")
    assert index is not None and index.isdigit(), index
    target.click()
    show_view(page, "filters")
    expect(tid(page, "selected-image")).to_have_attribute("data-index", index)


def test_compare_view_shows_a_grid_of_cells(page, tensorboard_server, screenshot):
    open_dashboard(page, tensorboard_server)
    view = show_view(page, "compare")
    try:
        expect(tid(page, "compare-grid")).to_be_visible(timeout=LOAD_TIMEOUT)
        cells = tid(page, "compare-cell")
        expect(cells.first).to_be_visible(timeout=LOAD_TIMEOUT)
        for i in range(cells.count()):
            cell = cells.nth(i)
            assert int(cell.get_attribute("data-step")) in MAIN_CHECKPOINTS
            assert cell.get_attribute("data-layer") in SMALL_RESNET_LAYERS
        page.wait_for_function(  # a cell is a picture or holds one
            """() => { const imgs = [...document.querySelectorAll(
                           'img[data-testid="compare-cell"], [data-testid="compare-cell"] img')];
                       return imgs.length > 0 && imgs.every(img => img.complete && img.naturalWidth > 0); }""",
            timeout=LOAD_TIMEOUT,
        )
        expect_no_error_status(view)
    finally:
        screenshot(page, "compare")


def test_dynamics_view_draws_a_line_per_layer(page, tensorboard_server, screenshot):
    open_dashboard(page, tensorboard_server)
    view = show_view(page, "dynamics")
    try:
        chart = tid(page, "dynamics-chart")
        expect(chart).to_be_visible(timeout=LOAD_TIMEOUT)
        assert chart.evaluate("el => el.tagName.toLowerCase()") == "svg"
        expect(chart.locator("path").first).to_be_attached(timeout=LOAD_TIMEOUT)
        expect(tid(page, "dynamics-stat")).to_be_visible()
        expect(tid(page, "dynamics-source")).to_be_visible()
        expect_no_error_status(view)
    finally:
        screenshot(page, "dynamics")


def test_dynamics_names_the_first_anomaly_of_a_diverged_run(page, tensorboard_server):
    open_dashboard(page, tensorboard_server, run=SECOND_RUN)
    show_view(page, "dynamics")
    anomaly = tensorboard_server.get_json("dynamics", run=SECOND_RUN)["first_anomaly"]
    assert anomaly is not None
    expect(tid(page, "dynamics-first-anomaly")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(tid(page, "dynamics-first-anomaly")).to_contain_text(re.compile(rf"(?<!\d){anomaly['step']}(?!\d)"))


# -------------------------------------------------------------------------------- timeline and state


def test_play_moves_through_checkpoints_and_the_sprite_follows(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    show_view(page, "filters")
    tid(page, "timeline-rewind").click()
    expect_step(page, MAIN_CHECKPOINTS[0])
    sprite = tid(page, "filters-sprite")
    wait_until_image_loaded(page, "filters-sprite")
    play = tid(page, "timeline-play")
    play.click()
    expect(play).to_have_attribute("aria-pressed", "true")
    samples = []
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        state = image_state(sprite)
        state["timeline"] = current_step(page)
        samples.append(state)
        steps_seen = {s["timeline"] for s in samples}
        srcs_seen = {s["src"] for s in samples}
        if len(steps_seen) >= 4 and len(srcs_seen) >= 3:
            break
        page.wait_for_timeout(100)
    play.click()
    expect(play).to_have_attribute("aria-pressed", "false")

    timeline_steps = {s["timeline"] for s in samples}
    sprite_steps = {s["step"] for s in samples}
    sprite_srcs = {s["src"] for s in samples}
    blank = [s for s in samples if s["width"] <= 0]
    assert len(timeline_steps) >= 3, f"timeline-step stayed at {sorted(timeline_steps)} over {len(samples)} samples"
    assert timeline_steps <= set(MAIN_CHECKPOINTS), timeline_steps
    assert len(sprite_steps) >= 2, f"filters-sprite data-step stayed at {sprite_steps}"
    assert len(sprite_srcs) >= 2, f"filters-sprite src stayed at {sprite_srcs}"
    assert not blank, f"{len(blank)} of {len(samples)} samples showed a blank sprite, e.g. {blank[0]}"
    paused_at = current_step(page)
    expect(sprite).to_have_attribute("data-step", str(paused_at))
    wait_until_image_loaded(page, "filters-sprite")
    assert query_of(image_state(sprite)["src"]).get("step") == str(paused_at)


def test_step_buttons_and_slider_move_the_timeline(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    tid(page, "timeline-rewind").click()
    expect_step(page, MAIN_CHECKPOINTS[0])
    expect(tid(page, "timeline-slider")).to_have_value("0")
    tid(page, "timeline-step-forward").click()
    expect_step(page, MAIN_CHECKPOINTS[1])
    expect(tid(page, "timeline-slider")).to_have_value("1")
    tid(page, "timeline-slider").fill(str(len(MAIN_CHECKPOINTS) - 1))
    expect_step(page, MAIN_CHECKPOINTS[-1])
    tid(page, "timeline-step-back").click()
    expect_step(page, MAIN_CHECKPOINTS[-2])


def test_reloading_the_url_restores_tab_layer_and_step(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    show_view(page, "filters")
    layer = SMALL_RESNET_LAYERS[2]
    page.locator(f'[data-testid="graph-node"][data-layer="{layer}"]').click()
    sprite = tid(page, "filters-sprite")
    wait_until_sprite_shows(page, layer=layer)
    tid(page, "timeline-rewind").click()
    expect_step(page, MAIN_CHECKPOINTS[0])
    for _ in range(3):
        tid(page, "timeline-step-forward").click()
    step = MAIN_CHECKPOINTS[3]
    expect_step(page, step)
    expect(sprite).to_have_attribute("data-step", str(step))
    assert query_of(image_state(sprite)["src"]).get("layer") == layer
    before = page.evaluate("() => location.hash")
    show_view(page, "clusters")
    wait_for_hash_to_settle(page, before)
    url = page.url

    page.reload()
    assert page.url == url
    expect(tid(page, "view-clusters")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(tid(page, "view-filters")).to_be_hidden()
    expect_step(page, step, timeout=LOAD_TIMEOUT)
    expect(tid(page, "timeline-slider")).to_have_value("3")
    expect(tid(page, "run-select")).to_have_value(MAIN_RUN)
    show_view(page, "filters")
    expect(sprite).to_have_attribute("data-step", str(step), timeout=LOAD_TIMEOUT)
    wait_until_sprite_shows(page, layer=layer)


# ------------------------------------------------------------------------------------------ escaping


def test_class_names_with_markup_render_as_text(page, tensorboard_server):
    open_dashboard(page, tensorboard_server)
    show_view(page, "confusion")
    expect(tid(page, "confusion-cell")).to_have_count(len(CLASS_NAMES) ** 2, timeout=LOAD_TIMEOUT)
    expect(page.get_by_text(CLASS_NAMES[0]).filter(visible=True).first).to_be_visible()
    expect_markup_not_rendered(page)
    for view in VIEWS:
        show_view(page, view)
        page.wait_for_load_state("networkidle")
        expect_markup_not_rendered(page)


# ------------------------------------------------------------------------------------------- console


def test_console_shows_no_error_across_the_session(page, tensorboard_server, console_log):
    """Last in the file: goes through every view and the timeline once more, then reads the whole session's console."""
    open_dashboard(page, tensorboard_server)
    for view in VIEWS:
        show_view(page, view)
        page.wait_for_load_state("networkidle")
    tid(page, "timeline-rewind").click()
    tid(page, "timeline-step-forward").click()
    page.wait_for_load_state("networkidle")
    assert console_log.errors() == []
