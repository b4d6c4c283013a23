"""The A/B mode of the Filters and Units views in Chromium, against the real `tensorboard`.

MAIN_RUN and SECOND_RUN are two runs over the same eval set (the session's logs, written by
DeepViz). Checked as a user would: both filter banks and both activation maps of one probe image
on one colour scale, the matched units panel (a click selects A's unit and B's), B's units matrix
beside A's on the rows of the matching. Expected numbers come from the plugin's own routes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.e2e_data import MAIN_RUN, SECOND_CHECKPOINTS, SECOND_RUN
from tests.e2e.page import LOAD_TIMEOUT, expect_markup_not_rendered, expect_no_console_error, tid

expect.set_options(timeout=10_000)

# A checkpoint both runs have, before SECOND_RUN's weights turn NaN.
STEP = SECOND_CHECKPOINTS[1]


def compared_layer(server: Any) -> str:
    """A layer of both runs with weights, activations and unit records."""
    runs = {run["run"]: run for run in server.get_json("index")["runs"]}
    names = [
        layer["name"]
        for layer in runs[MAIN_RUN]["layers"]
        if layer["has_weights"] and layer["has_activations"] and layer.get("has_units")
    ]
    assert names, "the e2e logs have a layer with weights, activations and units"
    return names[0]


def open_ab(page: Page, server: Any, **state: Any) -> None:
    """Open the dashboard with A = MAIN_RUN and B = SECOND_RUN, both at STEP."""
    link = {"run": MAIN_RUN, "step": STEP, "runb": SECOND_RUN, "stepb": STEP, **state}
    page.goto(server.entry_url + "#" + urlencode(link))
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)


def query(page: Page, testid: str) -> dict[str, str]:
    """The parameters of the sprite URL an <img> shows."""
    src = tid(page, testid).get_attribute("src") or ""
    return {key: values[0] for key, values in parse_qs(urlparse(src).query).items()}


def wait_for_hash(page: Page, key: str, value: str) -> None:
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.hash.slice(1)).get(k) === v", arg=[key, value], timeout=10_000
    )


def test_filters_ab_shows_both_banks_and_activations_on_one_scale_and_matches_units(
    page, tensorboard_server, console_log, request
):
    server = tensorboard_server
    layer = compared_layer(server)
    probe = server.get_json("predictions", run=MAIN_RUN, step=STEP)["probe_images"][0]
    open_ab(page, server, view="filters", layer=layer, image=probe)
    expect(tid(page, "filters-ab-toggle")).to_be_checked()
    for testid in ("filters-sprite", "filters-sprite-b"):
        expect(tid(page, testid)).to_have_attribute("src", re.compile(r"range="), timeout=LOAD_TIMEOUT)
    a, b = query(page, "filters-sprite"), query(page, "filters-sprite-b")
    assert (a["run"], b["run"]) == (MAIN_RUN, SECOND_RUN)
    assert a["range"] == b["range"]
    # one scale: the larger of the two layers' largest |w|
    scales = [
        server.get_json("filters_layout", run=run, layer=layer, step=STEP, norm="filter")["scales"]
        for run in (MAIN_RUN, SECOND_RUN)
    ]
    largest = max(max(values) for values in scales)
    low, high = (float(value) for value in a["range"].split(","))
    assert low == pytest.approx(-largest, rel=1e-4) and high == pytest.approx(largest, rel=1e-4)
    expect(tid(tid(page, "view-filters"), "status")).to_contain_text("one colour scale", timeout=LOAD_TIMEOUT)
    expect(tid(page, "filters-status-b")).to_contain_text("one colour scale for A and B", timeout=LOAD_TIMEOUT)

    # the probe image's activations, A beside B, on one scale
    row = tid(page, "ab-activations")
    expect(row).to_be_visible()
    for testid in ("activations-sprite", "activations-sprite-b"):
        expect(tid(row, testid)).to_have_attribute("src", re.compile(r"range="), timeout=LOAD_TIMEOUT)
    a, b = query(page, "activations-sprite"), query(page, "activations-sprite-b")
    assert a["image"] == b["image"] == str(probe) and a["norm"] == b["norm"] == "layer" and a["range"] == b["range"]

    # the matched units: A's filter, B's filter, the similarity; a click selects both units
    match = server.get_json("filter_match", run=MAIN_RUN, run_b=SECOND_RUN, layer=layer, step=STEP, step_b=STEP)
    pairs = tid(page, "match-pair")
    expect(pairs).to_have_count(min(64, len(match["pairs"])), timeout=LOAD_TIMEOUT)
    best = max(match["pairs"], key=lambda pair: pair["similarity"])
    assert (pairs.first.get_attribute("data-a"), pairs.first.get_attribute("data-b")) == (
        str(best["a"]),
        str(best["b"]),
    )
    expect(tid(page, "matched-only-b")).to_contain_text(f"units only B learned: {len(match['unmatched_b'])}")
    pairs.first.click()
    wait_for_hash(page, "unit", str(best["a"]))
    wait_for_hash(page, "unitb", str(best["b"]))
    expect(pairs.first).to_have_class(re.compile("dv-selected"))

    # the layer similarity heat map, or why there is none (logs without similarity records)
    kinds = {run["run"]: run["kinds"] for run in server.get_json("index")["runs"]}
    if "similarity" in kinds[MAIN_RUN] and "similarity" in kinds[SECOND_RUN]:
        answer = server.get_json("layer_similarity", run=MAIN_RUN, step=STEP, run_b=SECOND_RUN, step_b=STEP)
        cells = tid(page, "cka-cell")
        expect(cells).to_have_count(len(answer["layers_a"]) * len(answer["layers_b"]))
        # the last row's last cell: hover reads its value out, a click selects A's layer of that row
        last = cells.nth(cells.count() - 1)
        last.hover()
        named = f"A {answer['layers_a'][-1]} × B {answer['layers_b'][-1]}: "
        said = "CKA " if answer["cka"][-1][-1] is not None else "not computable"
        expect(tid(page, "cka-readout")).to_contain_text(named + said)
        last.click()
        wait_for_hash(page, "layer", answer["layers_a"][-1])
    else:
        expect(tid(page, "cka-status")).to_contain_text("Layer similarity needs similarity records")
    expect_markup_not_rendered(page)
    expect_no_console_error(console_log, request)


def test_units_ab_aligns_b_by_the_matching(page, tensorboard_server, console_log, request):
    server = tensorboard_server
    layer = compared_layer(server)
    open_ab(page, server, view="units", layer=layer)
    expect(tid(page, "units-matrix-b")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(tid(page, "units-status-b")).to_contain_text("matched to A's", timeout=LOAD_TIMEOUT)
    match = server.get_json("filter_match", run=MAIN_RUN, run_b=SECOND_RUN, layer=layer, step=STEP, step_b=STEP)
    partner = {pair["a"]: pair["b"] for pair in match["pairs"]}
    rows_a = page.locator("[data-testid='units-matrix'] .dv-matrix-row")
    rows_b = page.locator("[data-testid='units-matrix-b'] .dv-matrix-row")
    units = server.get_json("units", run=MAIN_RUN, layer=layer, step=STEP)["units"]
    expect(rows_a).to_have_count(len(units) + len(match["unmatched_b"]))
    expect(rows_b).to_have_count(rows_a.count())
    shown = [int(rows_a.nth(i).get_attribute("data-unit") or -1) for i in range(len(units))]
    for i, a in enumerate(shown):
        assert rows_b.nth(i).get_attribute("data-unit") == (str(partner[a]) if a in partner else ""), (i, a)
    # a click on a matched row selects A's unit and B's
    first = min(partner)
    row = shown.index(first)
    page.locator(f"[data-testid='units-cell-b'][data-row='{row}'][data-class='0']").click()
    wait_for_hash(page, "unit", str(first))
    wait_for_hash(page, "unitb", str(partner[first]))
    expect_no_console_error(console_log, request)
