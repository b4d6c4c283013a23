"""Screenshots of every dashboard view on the coloured-shapes demo, for the README.

Trains the demo runs it needs (unless ``--logdir`` already holds them: ``shapes``, a second seed
of it for A/B, and the ResNet-20 for the folded graph), starts the real ``tensorboard`` on a
free loopback port, and photographs each tab in headless Chromium (Debian's, launched by path).

    python -m demo.screenshots [--logdir runs/screenshots] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from demo import train

VIEWS = ("filters", "confusion", "clusters", "compare", "dynamics", "units")
# The runs the pictures show, and how each is trained.
RUNS = {
    "shapes": ["--dataset", "shapes"],
    "shapes-seed1": ["--dataset", "shapes", "--seed", "1", "--run-name", "shapes-seed1"],
    "shapes-resnet20": ["--dataset", "shapes", "--model", "resnet20", "--epochs", "4"],
}
# Pictures taken from a link (the dashboard's state is its URL hash): A/B mode and the folded graph.
LINKED = {
    "ab-filters": "run=shapes&view=filters&layer=conv1&runb=shapes-seed1",
    "ab-units": "run=shapes&view=units&layer=conv2&runb=shapes-seed1",
    "graph": "run=shapes-resnet20&view=units&layer=layer3.0.conv1",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_index(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/deepviz/index", timeout=5) as response:
                runs = json.loads(response.read())["runs"]
                if runs and runs[0]["checkpoints"]:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("TensorBoard did not list the demo's checkpoints")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", default="runs/screenshots")
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    for run, options in RUNS.items():
        if not os.path.isdir(os.path.join(args.logdir, run)):
            train.main([*options, "--logdir", args.logdir, "--no-progress"])
    os.makedirs(args.out, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", args.logdir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_index(port)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/data/plugin_entry.html?name=deepviz")
            page.locator('[data-testid="filters-sprite"]').wait_for(state="visible", timeout=30_000)
            # Select a probe image so the Filters view shows its activations too.
            probe = page.locator('[data-testid="probe-images"] *[data-index]').first
            if probe.count():
                probe.click()
            # The first layer: its filters see the image's colours, so they are drawn in colour.
            page.locator('[data-testid="graph-node"][data-layer="conv1"]').click()
            # A filter clicked opens its unit panel (top images, class means) under the bank.
            sprite = page.locator('[data-testid="filters-sprite"]')
            box = sprite.bounding_box()
            if box:
                sprite.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.1})
            for view in VIEWS:
                page.locator(f'[data-testid="tab-{view}"]').click()
                if view == "compare":
                    page.locator('[data-testid="compare-run"]').click()
                page.wait_for_timeout(1500)  # let sprites and charts finish loading
                path = os.path.join(args.out, f"{view}.png")
                page.screenshot(path=path)
                print(path)
            for name, link in LINKED.items():
                # A fresh page each: a link names what it changes, so one followed in the same
                # page would keep the previous picture's B.
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/data/plugin_entry.html?name=deepviz#{link}")
                page.wait_for_timeout(4000)  # both sides' sprites, the matching and the heat map
                path = os.path.join(args.out, f"{name}.png")
                page.screenshot(path=path, full_page=True)
                print(path)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
