"""The network graph folds identical blocks, in Chromium against the real `tensorboard`.

Its own log (tests/e2e/graph_fold_data.py): a stage whose first block widens the channels and whose
four other blocks are identical, one of them killed by a -100 bias. The graph must show the four as
one folded entry `stage.1–4 ×4` carrying the dead layer's error badge, open and fold again on a
click or the keyboard, and open by itself when a finding's link or the address selects a layer
inside it.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TensorBoardServer, _start_tensorboard, _stop
from tests.e2e.graph_fold_data import CHECKPOINTS, DEAD_LAYER, IDENTICAL_BLOCKS, RUN, write_folded_run
from tests.e2e.page import LOAD_TIMEOUT, expect_no_console_error, tid

expect.set_options(timeout=10_000)

FOLD_LABEL = f"stage.1–{IDENTICAL_BLOCKS} ×{IDENTICAL_BLOCKS}"
MEMBERS = [f"stage.{index}" for index in range(1, IDENTICAL_BLOCKS + 1)]


@pytest.fixture(scope="module")
def fold_server(tmp_path_factory) -> Iterator[TensorBoardServer]:
    """`tensorboard` on this test's own log."""
    logdir = str(tmp_path_factory.mktemp("graph_fold_logs"))
    write_folded_run(logdir)
    server = _start_tensorboard(logdir, {RUN: CHECKPOINTS})
    try:
        yield server
    finally:
        _stop(server.process)


def dead_finding(server: TensorBoardServer) -> dict[str, Any]:
    """The planted dead layer as the findings route answers it: an error, the worst of the run."""
    findings = server.get_json("findings", run=RUN)["findings"]
    dead = [finding for finding in findings if finding["kind"] == "dead_units" and finding["layer"] == DEAD_LAYER]
    assert len(dead) == 1, findings
    assert dead[0]["severity"] == "error"
    return dead[0]


def open_graph(page: Page, server: TensorBoardServer, **params: str) -> Any:
    page.goto(server.entry_url + "#" + urlencode({"run": RUN, **params}))
    expect(tid(page, "run-select")).to_have_value(RUN, timeout=LOAD_TIMEOUT)
    graph = tid(page, "graph")
    expect(tid(graph, "graph-fold")).to_have_count(1, timeout=LOAD_TIMEOUT)
    return graph


def node(graph: Any, layer: str) -> Any:
    return graph.locator(f'[data-testid="graph-node"][data-layer="{layer}"]')


def group_head(graph: Any, name: str) -> Any:
    return graph.locator(f'[data-testid="graph-group"][data-group="{name}"]')


def test_identical_blocks_fold_with_the_worst_finding_inside_and_open_on_click(
    page, fold_server, screenshot, console_log, request
):
    finding = dead_finding(fold_server)
    graph = open_graph(page, fold_server)
    fold = tid(graph, "graph-fold")
    try:
        # One folded entry for blocks 1-4; block 0 (its shortcut widens the channels) apart.
        expect(fold).to_contain_text(FOLD_LABEL)
        expect(fold).to_contain_text("Block")
        expect(fold).to_have_attribute("aria-expanded", "false")
        expect(group_head(graph, "stage.0")).to_be_visible()
        expect(node(graph, DEAD_LAYER)).to_be_hidden()
        for member in MEMBERS:
            expect(group_head(graph, member)).to_be_hidden()
        # The dead layer's error, the worst inside, is on the fold.
        badge = fold.locator('[data-testid="graph-badge"]')
        expect(badge).to_have_attribute("data-severity", "error", timeout=LOAD_TIMEOUT)
        expect(badge).to_have_attribute("title", _contains(finding["message"]))
        screenshot(tid(page, "graph"), "graph-fold-folded")

        fold.click()
        expect(fold).to_have_attribute("aria-expanded", "true")
        for member in MEMBERS:
            expect(group_head(graph, member)).to_be_visible()
        expect(node(graph, DEAD_LAYER)).to_be_visible()
        expect(node(graph, DEAD_LAYER).locator('[data-testid="graph-badge"]')).to_have_attribute(
            "data-severity", "error"
        )
        expect(fold.locator('[data-testid="graph-badge"]')).to_have_count(0)  # open: the layer shows its own
        screenshot(tid(page, "graph"), "graph-fold-open")

        fold.click()  # fold it again
        expect(fold).to_have_attribute("aria-expanded", "false")
        expect(node(graph, DEAD_LAYER)).to_be_hidden()

        # The keyboard: Tab reaches the head, Enter toggles it, the focus stays on it across the redraw
        # (Space is the dashboard's play/pause key).
        fold.focus()
        page.keyboard.press("Enter")
        expect(fold).to_have_attribute("aria-expanded", "true")
        expect(fold).to_be_focused()
        page.keyboard.press("Enter")
        expect(fold).to_have_attribute("aria-expanded", "false")
        expect(fold).to_be_focused()
    finally:
        screenshot(page, "graph-fold")
    expect_no_console_error(console_log, request)


def test_a_finding_inside_a_fold_opens_it_and_selects_the_layer(page, fold_server, console_log, request):
    dead_finding(fold_server)
    graph = open_graph(page, fold_server)
    fold = tid(graph, "graph-fold")
    expect(fold).to_have_attribute("aria-expanded", "false")
    row = page.locator(f'[data-testid="finding"][data-kind="dead_units"][data-layer="{DEAD_LAYER}"]')
    expect(row).to_be_visible(timeout=LOAD_TIMEOUT)
    tid(row, "finding-open").click()
    expect(fold).to_have_attribute("aria-expanded", "true")
    selected = node(graph, DEAD_LAYER)
    expect(selected).to_be_visible()
    expect(selected).to_have_attribute("aria-current", "true")
    expect(selected).to_be_in_viewport()
    # The user may fold it again; the head then says it holds the selected layer.
    fold.click()
    expect(fold).to_have_attribute("aria-expanded", "false")
    expect(fold).to_have_class(_contains("dv-holds-selected"))
    expect_no_console_error(console_log, request)


def test_a_layer_in_the_address_inside_a_fold_opens_it(page, fold_server, console_log, request):
    layer = f"stage.{IDENTICAL_BLOCKS}.conv2"
    graph = open_graph(page, fold_server, layer=layer)
    expect(tid(graph, "graph-fold")).to_have_attribute("aria-expanded", "true")
    expect(node(graph, layer)).to_be_visible()
    expect(node(graph, layer)).to_have_attribute("aria-current", "true")
    # Selecting a layer outside it from the graph leaves the fold as it is.
    node(graph, "fc").click()
    expect(node(graph, "fc")).to_have_attribute("aria-current", "true")
    expect(tid(graph, "graph-fold")).to_have_attribute("aria-expanded", "true")
    expect_no_console_error(console_log, request)


def _contains(text: str) -> Any:
    return re.compile(re.escape(text))
