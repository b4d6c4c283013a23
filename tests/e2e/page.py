"""What the browser tests share about the page: finding elements, load timeouts, checks every view owes.

Imported by the test modules after their ``pytest.importorskip("playwright.sync_api")``.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page

LOAD_TIMEOUT = 30_000  # the first request of a view may decode a checkpoint


def tid(scope: Any, name: str) -> Locator:
    """The element(s) of ``scope`` (a page or locator) with ``data-testid=name``."""
    return scope.get_by_test_id(name)


def expect_markup_not_rendered(page: Page) -> None:
    """No element was made from the class names' markup: they are text, not HTML."""
    injected = page.evaluate(
        """() => ({
            bold_cat: [...document.querySelectorAll('b')].filter(b => b.textContent.trim() === 'cat').length,
            img_x: document.querySelectorAll('img[src="x"]').length,
            onerror: document.querySelectorAll('[onerror]').length,
        })"""
    )
    assert injected == {"bold_cat": 0, "img_x": 0, "onerror": 0}, injected


def expect_no_console_error(console_log: Any, request: Any) -> None:
    """The page logged no console error during this test (the ``console_log`` fixture labels each test)."""
    label = f"[{request.node.name}]"
    assert [entry for entry in console_log.errors() if entry.startswith(label)] == []
