"""Findings in Chromium against the real `tensorboard`, checked as a user would.

The e2e logs' second run holds a NaN planted at ``NAN_STEP``: the Findings panel above the tabs must
show it as soon as the page opens (no click), with the step and layer the ``findings`` route names, and
ONE click on it must open its evidence: the Training dynamics tab, that layer selected, the timeline at
the checkpoint where the NaN shows. Elements are found by their ``data-testid``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.e2e_data import CLASS_NAMES, MAIN_CHECKPOINTS, MAIN_RUN, NAN_STEP, SECOND_CHECKPOINTS, SECOND_RUN
from tests.e2e.page import LOAD_TIMEOUT, tid

expect.set_options(timeout=10_000)


def nan_finding(server: Any) -> dict:
    """The run's NaN/Inf finding as the route answers it (checked to be the planted one)."""
    answer = server.get_json("findings", run=SECOND_RUN)
    assert answer["run"] == SECOND_RUN
    found = [finding for finding in answer["findings"] if finding["kind"] == "nan_inf"]
    assert len(found) == 1, answer
    finding = found[0]
    assert finding["severity"] == "error"
    assert finding["step"] == NAN_STEP
    assert finding["layer"]
    return finding


def checkpoint_at_or_after(step: int) -> int:
    """Where the timeline shows what happened at ``step``: the first checkpoint at or after it."""
    return min((checkpoint for checkpoint in SECOND_CHECKPOINTS if checkpoint >= step), default=SECOND_CHECKPOINTS[-1])


def steps_text(finding: dict) -> str:
    if finding["last_step"] != finding["step"]:
        return f"steps {finding['step']}–{finding['last_step']}"
    return f"step {finding['step']}"


def open_run(page: Page, server: Any, run: str = SECOND_RUN) -> None:
    page.goto(server.entry_url + "#" + urlencode({"run": run}))
    expect(tid(page, "run-select")).to_have_value(run, timeout=LOAD_TIMEOUT)


def expect_timeline_at(page: Page, step: int) -> None:
    expect(tid(page, "timeline-step")).to_have_text(re.compile(rf"^\s*{step}\s*$"))


def expect_dynamics_at(page: Page, finding: dict) -> None:
    """Training dynamics on screen at the finding's layer, statistic and checkpoint."""
    layer = finding["layer"]
    view = tid(page, "view-dynamics")
    expect(view).to_be_visible()
    expect(tid(page, "tab-dynamics")).to_have_attribute("aria-selected", "true")
    expect(tid(page, "view-filters")).to_be_hidden()
    expect_timeline_at(page, checkpoint_at_or_after(finding["step"]))
    expect(page.locator('[data-testid="graph-node"][aria-current="true"]')).to_have_attribute("data-layer", layer)
    expect(tid(page, "dynamics-stat")).to_have_value("nan_count")
    expect(tid(page, "dynamics-source")).to_have_value(finding["evidence"]["source"])
    # The chart draws the layer's line selected, and marks the NaN at its own step.
    expect(view.locator(f'.dv-legend-item.dv-selected[data-layer="{layer}"]')).to_be_visible(timeout=LOAD_TIMEOUT)
    expect(view.locator(f'[data-testid="dynamics-nan"][data-step="{finding["step"]}"]')).to_be_attached()


def test_findings_panel_shows_the_planted_nan_when_the_page_opens(page, tensorboard_server, screenshot):
    finding = nan_finding(tensorboard_server)
    answer = tensorboard_server.get_json("findings", run=SECOND_RUN)["findings"]
    open_run(page, tensorboard_server)
    panel = tid(page, "findings")
    try:
        expect(panel).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(panel).to_have_attribute("data-worst", "error")
        # Open without a click: the rows are on screen, in the route's order.
        rows = tid(panel, "finding")
        expect(rows).to_have_count(len(answer), timeout=LOAD_TIMEOUT)
        assert [rows.nth(i).get_attribute("data-kind") for i in range(len(answer))] == [f["kind"] for f in answer]
        row = panel.locator('[data-testid="finding"][data-kind="nan_inf"]')
        expect(row).to_be_visible()
        expect(tid(row, "finding-severity")).to_have_text("error")
        expect(tid(row, "finding-step")).to_have_text(steps_text(finding))
        expect(row).to_have_attribute("data-layer", finding["layer"])
        expect(tid(row, "finding-message")).to_have_text(finding["message"])
        expect(tid(row, "finding-open")).to_contain_text(finding["layer"])
        expect(row).to_have_attribute("data-step", str(NAN_STEP))
        # The lead-lag ranking under it, as the route ranks it.
        leads = [entry["layer"] for entry in finding["evidence"].get("lead_lag", [])]
        expect(tid(row, "finding-lead")).to_have_count(len(leads))
        assert [tid(row, "finding-lead").nth(i).inner_text() for i in range(len(leads))] == leads
        # The layer's badge in the graph and the tick under the timeline.
        badge = page.locator(f'[data-testid="graph-node"][data-layer="{finding["layer"]}"] [data-testid="graph-badge"]')
        expect(badge).to_have_attribute("data-severity", "error")
        tick = page.locator(f'[data-testid="timeline-finding"][data-step="{NAN_STEP}"]')
        expect(tick).to_have_attribute("data-severity", "error")
        expect(tick).to_have_attribute("title", re.compile(re.escape(finding["message"])))
    finally:
        screenshot(page, "findings")


def test_findings_one_click_opens_training_dynamics_at_the_layer_and_step(page, tensorboard_server, screenshot):
    finding = nan_finding(tensorboard_server)
    open_run(page, tensorboard_server)
    expect(tid(page, "view-filters")).to_be_visible(timeout=LOAD_TIMEOUT)
    expect_timeline_at(page, SECOND_CHECKPOINTS[-1])
    row = page.locator('[data-testid="finding"][data-kind="nan_inf"]')
    expect(row).to_be_visible(timeout=LOAD_TIMEOUT)
    tid(row, "finding-open").click()  # the one click
    try:
        expect_dynamics_at(page, finding)
        page.wait_for_function("() => location.hash.includes('view=dynamics')")
        hash_text = page.evaluate("() => location.hash")
        assert f"step={checkpoint_at_or_after(NAN_STEP)}" in hash_text or f"step={NAN_STEP}" in hash_text, hash_text
    finally:
        screenshot(page, "findings-dynamics")


def test_findings_link_opened_directly_shows_the_same_evidence(page, tensorboard_server):
    """The finding's link in the address (a reload, a shared link) opens what the click opens."""
    finding = nan_finding(tensorboard_server)
    page.goto(tensorboard_server.entry_url + finding["link"])
    expect(tid(page, "run-select")).to_have_value(SECOND_RUN, timeout=LOAD_TIMEOUT)
    expect_dynamics_at(page, finding)


def test_findings_confusion_link_pins_its_cell_and_shows_its_images(page, tensorboard_server, screenshot):
    """A confused-classes finding's link (``cell=true,predicted``) pins that cell of the matrix."""
    step = MAIN_CHECKPOINTS[-1]
    answer = tensorboard_server.get_json("confusion", run=MAIN_RUN, step=step)
    cells = [(len(answer["cell_images"][t][p]), t, p) for t in range(len(CLASS_NAMES)) for p in range(len(CLASS_NAMES))]
    off_diagonal = [cell for cell in cells if cell[1] != cell[2] and cell[0]]
    shown, true, predicted = max(off_diagonal or cells)
    link = "#" + urlencode(
        {"run": MAIN_RUN, "view": "confusion", "step": step, "cell": f"{true},{predicted}"}, safe=","
    )
    page.goto(tensorboard_server.entry_url + link)
    view = tid(page, "view-confusion")
    try:
        expect(view).to_be_visible(timeout=LOAD_TIMEOUT)
        expect_timeline_at(page, step)
        pinned = view.locator(".dv-cell-pinned")
        expect(pinned).to_have_count(1, timeout=LOAD_TIMEOUT)
        expect(pinned).to_have_attribute("data-true", str(true))
        expect(pinned).to_have_attribute("data-pred", str(predicted))
        examples = tid(page, "confusion-examples")
        expect(examples).to_contain_text(f"true {CLASS_NAMES[true]} → predicted {CLASS_NAMES[predicted]}")
        expect(examples).to_contain_text("unpin")
        expect(tid(examples, "confusion-example")).to_have_count(shown, timeout=LOAD_TIMEOUT)
    finally:
        screenshot(page, "findings-confusion")


def test_findings_session_shows_no_console_error(page, tensorboard_server, console_log):
    """Last in the file: nothing these tests did made the page report an error."""
    open_run(page, tensorboard_server)
    expect(tid(page, "findings")).to_be_visible(timeout=LOAD_TIMEOUT)
    page.wait_for_load_state("networkidle")
    mine = [entry for entry in console_log.errors() if entry.startswith("[test_findings")]
    assert mine == []
