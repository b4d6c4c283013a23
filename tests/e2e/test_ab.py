"""The Confusion view's A/B mode in Chromium: B's matrix beside A's, B minus A, and the flipped images.

MAIN_RUN and SECOND_RUN share the eval set, so ``confusion_diff`` compares them image by image.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("playwright.sync_api", reason="the Python package `playwright` is not installed")
from playwright.sync_api import Page, expect

from tests.e2e.e2e_data import CLASS_NAMES, MAIN_CHECKPOINTS, MAIN_RUN, SECOND_CHECKPOINTS, SECOND_RUN
from tests.e2e.page import LOAD_TIMEOUT, tid

expect.set_options(timeout=10_000)

CELLS = len(CLASS_NAMES) ** 2


def open_confusion(page: Page, server: Any, step: int) -> None:
    page.goto(server.entry_url + "#" + urlencode({"run": MAIN_RUN, "view": "confusion", "step": step}))
    expect(tid(page, "timeline-step")).to_have_text(re.compile(r"\d"), timeout=LOAD_TIMEOUT)
    expect(tid(page, "confusion-cell")).to_have_count(CELLS, timeout=LOAD_TIMEOUT)


def wait_for_hash(page: Page, key: str, value: str) -> None:
    """Wait until the link (written a moment after a change) holds ``key=value``."""
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.hash.slice(1)).get(k) === v", arg=[key, value], timeout=10_000
    )


def test_ab_mode_compares_two_runs_and_selects_a_flipped_image(page, tensorboard_server, console_log, request):
    server = tensorboard_server
    step = MAIN_CHECKPOINTS[-1]
    open_confusion(page, server, step)
    expect(tid(page, "confusion-ab")).to_be_hidden()
    tid(page, "confusion-ab-toggle").check()
    expect(tid(page, "confusion-cell-b")).to_have_count(CELLS, timeout=LOAD_TIMEOUT)
    wait_for_hash(page, "runb", MAIN_RUN)

    tid(page, "ab-run").select_option(SECOND_RUN)
    tid(page, "ab-same-step").check()
    step_b = min(SECOND_CHECKPOINTS, key=lambda candidate: abs(candidate - step))
    expect(tid(page, "ab-step")).to_have_value(str(step_b), timeout=LOAD_TIMEOUT)
    answer = server.get_json("confusion_diff", run=MAIN_RUN, step=step, run_b=SECOND_RUN, step_b=step_b)
    expect(tid(page, "confusion-ab-status")).to_contain_text(f"B: {SECOND_RUN} at step {step_b}", timeout=LOAD_TIMEOUT)
    # both matrices and the difference
    expect(tid(page, "confusion-matrix")).to_be_visible()
    expect(tid(page, "confusion-matrix-b")).to_be_visible()
    cells_b = tid(page, "confusion-cell-b")
    expect(cells_b).to_have_count(CELLS)
    shown_b = [int(cells_b.nth(i).get_attribute("data-count")) for i in range(CELLS)]
    assert shown_b == [count for row in answer["counts_b"] for count in row]
    diff = tid(page, "confusion-diff-cell")
    expect(diff).to_have_count(CELLS)
    shown_diff = [float(diff.nth(i).get_attribute("data-diff")) for i in range(CELLS)]
    assert shown_diff == [value for row in answer["diff"] for value in row]
    expect(tid(page, "confusion-ab-accuracy")).to_contain_text("accuracy A")
    expect(tid(page, "confusion-ab-accuracy")).to_contain_text("· B")
    assert page.locator("[data-testid='confusion-ab'] b, [data-testid='confusion-b'] b").count() == 0

    # the flipped images: a click selects the image
    flips = answer["flips"]["right_to_wrong"] + answer["flips"]["wrong_to_right"]
    images = tid(tid(page, "confusion-flips"), "flip-image")
    if not flips:
        expect(images).to_have_count(0)
        pytest.skip("the e2e runs' predictions flip no image")
    expect(images.first).to_be_visible()
    index = int(images.first.get_attribute("data-index"))
    assert index in flips
    images.first.click()
    wait_for_hash(page, "image", str(index))
    label = f"[{request.node.name}]"
    assert [entry for entry in console_log.errors() if entry.startswith(label)] == []
