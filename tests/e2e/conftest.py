"""End-to-end fixtures: logs written by DeepViz, the real `tensorboard` command, and Chromium via Playwright.

The whole directory is skipped, with the reason, when Chromium, the Python `playwright` package or the
built dashboard (`tensorboard_deepviz/static/index.js`) is missing. Set ``DEEPVIZ_E2E_REQUIRED=1`` to
turn those skips into failures (for a CI that must run the browser tests). ``DEEPVIZ_CHROMIUM`` names
another Chromium binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlencode, urlsplit

import pytest

from tests.e2e.e2e_data import MAIN_CHECKPOINTS, MAIN_RUN, NAN_STEP, SECOND_CHECKPOINTS, SECOND_RUN, write_run

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLE = REPO_ROOT / "tensorboard_deepviz" / "static" / "index.js"
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps trying to reach Google's services on a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Console noise from TensorBoard's own page (not the dashboard) that is not an error of ours.
IGNORED_CONSOLE = ("Multiple instances of Three.js",)


def _chromium_path() -> Optional[str]:
    for candidate in (
        os.environ.get("DEEPVIZ_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing_prerequisites() -> list[str]:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package `playwright` is not installed (pip install -e '.[test]')")
    if _chromium_path() is None:
        missing.append(
            "Chromium is not installed (`make browser`, or apt-get install chromium; or set DEEPVIZ_CHROMIUM)"
        )
    if not BUNDLE.is_file():
        missing.append(f"the dashboard bundle {BUNDLE.relative_to(REPO_ROOT)} is not built (`make frontend`)")
    return missing


@pytest.fixture(scope="session", autouse=True)
def e2e_prerequisites() -> None:
    """Skip (or, with DEEPVIZ_E2E_REQUIRED=1, fail) every e2e test before any slow fixture runs."""
    missing = _missing_prerequisites()
    if missing:
        reason = "browser tests need: " + "; ".join(missing)
        if os.environ.get("DEEPVIZ_E2E_REQUIRED") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


# ---------------------------------------------------------------------------------------------- logs


@pytest.fixture(scope="session")
def e2e_logdir(tmp_path_factory) -> str:
    """Two runs written by DeepViz: `main` (6 checkpoints) and `nan_run` (3 checkpoints, NaN from step 3)."""
    path = str(tmp_path_factory.mktemp("e2e_logs"))
    write_run(path, MAIN_RUN, MAIN_CHECKPOINTS)
    write_run(path, SECOND_RUN, SECOND_CHECKPOINTS, plant_nan_at=NAN_STEP)
    return path


# ------------------------------------------------------------------------------------------ server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tensorboard_command() -> list[str]:
    script = Path(sys.executable).with_name("tensorboard")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tensorboard.main"]


@dataclass
class TensorBoardServer:
    url: str  # "http://127.0.0.1:PORT", no trailing slash
    logdir: str
    log_path: str
    process: subprocess.Popen

    @property
    def entry_url(self) -> str:
        """The dashboard page TensorBoard puts in the deepviz tab's iframe."""
        return f"{self.url}/data/plugin_entry.html?name=deepviz"

    def get_json(self, route: str, **params: Any) -> Any:
        """GET a plugin route (``/data/plugin/deepviz/<route>``) and decode its JSON."""
        query = ("?" + urlencode(params)) if params else ""
        with urllib.request.urlopen(f"{self.url}/data/plugin/deepviz/{route}{query}", timeout=30) as response:
            return json.load(response)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _stop(process: subprocess.Popen) -> None:
    """Stop TensorBoard and its Rust data server (same process group, which we created)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the group leader's id is the process's own id


def _start_tensorboard(logdir: str, expected: dict[str, list[int]], timeout: float = 90.0) -> TensorBoardServer:
    for attempt in range(3):  # the free port may be taken between choosing it and binding it
        port = _free_port()
        log_path = os.path.join(tempfile.mkdtemp(prefix="deepviz-e2e-tb-"), "tensorboard.log")
        log_file = open(log_path, "wb")  # noqa: SIM115 - TensorBoard writes to it until the fixture stops it
        process = subprocess.Popen(
            [
                *_tensorboard_command(),
                "--logdir",
                logdir,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--reload_interval",
                "1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        server = TensorBoardServer(f"http://127.0.0.1:{port}", logdir, log_path, process)
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                runs = {entry["run"]: entry["checkpoints"] for entry in server.get_json("index")["runs"]}
                last = runs
                if all(runs.get(run) == steps for run, steps in expected.items()):
                    return server
            except (urllib.error.URLError, ConnectionError, OSError, ValueError) as error:
                last = error
            time.sleep(0.25)
        _stop(process)
        if process.returncode is not None and "address already in use" in server.log_tail().lower() and attempt < 2:
            continue
        raise RuntimeError(
            f"tensorboard did not serve the expected checkpoints {expected} (last: {last!r}); log:\n{server.log_tail()}"
        )
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def tensorboard_server(e2e_logdir) -> Iterator[TensorBoardServer]:
    """`tensorboard --logdir` on a free loopback port, ready once `index` lists every checkpoint."""
    server = _start_tensorboard(e2e_logdir, {MAIN_RUN: MAIN_CHECKPOINTS, SECOND_RUN: SECOND_CHECKPOINTS})
    try:
        yield server
    finally:
        _stop(server.process)


# ----------------------------------------------------------------------------------------- browser


@dataclass
class ConsoleLog:
    """Everything the pages said that a user would call an error, over the whole session.

    Chromium reports failed loads (HTTP >= 400, refused connections) as console errors naming the URL,
    so the console, uncaught exceptions and dialogs cover them.
    """

    entries: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        return list(self.entries)

    def watch(self, page: Any, label: str) -> None:
        def on_console(message: Any) -> None:
            location = message.location or {}
            # Chromium asks for /favicon.ico when the iframe's page is opened on its own; TensorBoard has none.
            if urlsplit(location.get("url", "")).path == "/favicon.ico":
                return
            if message.type in ("error", "assert") and not any(text in message.text for text in IGNORED_CONSOLE):
                self.entries.append(f"[{label}] console.{message.type}: {message.text} ({location.get('url', '')})")

        def on_page_error(error: Any) -> None:
            self.entries.append(f"[{label}] uncaught: {error}")

        def on_dialog(dialog: Any) -> None:  # an alert() would be script injected through a class name
            self.entries.append(f"[{label}] dialog {dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("dialog", on_dialog)


@pytest.fixture(scope="session")
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, console_log, request) -> Iterator[Any]:
    """A fresh page (own context: no shared cache or storage) whose console feeds ``console_log``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    console_log.watch(page, request.node.name)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot() -> Callable[..., Path]:
    """``screenshot(page_or_locator, name)`` saves ``test-artifacts/screenshots/<name>.png`` and returns its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def save(target: Any, name: str, **options: Any) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        target.screenshot(path=str(path), **options)
        return path

    return save
