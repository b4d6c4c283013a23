"""Browser benchmark: the dashboard in headless Chromium playing a 100-checkpoint log.

Writes (or reuses, with ``--logdir``) a log of the 3-layer CIFAR-10 net, starts the real
``tensorboard`` (Rust loader unless ``--loader python``), opens the dashboard page
(``/data/plugin_entry.html?name=deepviz``) through Playwright and measures inside the page:

- playback at the fastest speed the speed menu offers (30 checkpoints/s), from the first to
  the last checkpoint: the interval between successive *painted* changes of the filter sprite
  (``[data-testid=filters-sprite]``; a MutationObserver notes each change of its ``data-step`` /
  ``src``, and the change counts as painted in the first animation frame whose rendering follows
  it, at that frame's requestAnimationFrame timestamp; "follows" is judged in a ResizeObserver
  callback, which runs after all of a frame's rAF callbacks, just before its paint), how many
  checkpoints were never painted, and blank frames (in every frame, at that same point: the
  sprite has no src, is hidden, is not complete or has naturalWidth 0). Playback is measured on a fresh server and a fresh browser (everything
  cold), again with a fresh browser (server warm), and a second time in that browser (warm).
  It is done with no image selected (the dashboard's default) and with a probe image selected
  (its activations and predictions follow the step as well).
- step-change latency: ~30 random jumps with the slider on a fresh server and browser (cold),
  the same jumps again (warm), and clicks of the step-forward button: from the input event's
  timestamp to the first animation frame after the new sprite is loaded and displayed.

Target (docs/ARCHITECTURE.md, Performance targets): playing 100 checkpoints, p95 frame interval <= 33 ms and no blank frame.

    python -m benchmarks.browser [--checkpoints 100] [--eval-size 1000] [--loader rust|python]
                                 [--logdir DIR] [--jumps 30] [--label TEXT] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from typing import Any

from benchmarks.common import markdown_table, percentile, report
from benchmarks.serving import STEP_SPACING, TensorBoardProcess, prepare_log

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
SPRITE = '[data-testid="filters-sprite"]'

# Installed in the page once the dashboard is up; everything it measures uses performance.now()
# and requestAnimationFrame timestamps of the page itself.
PROBE = r"""
() => {
  if (window.__dvb) return;
  const img = document.querySelector('[data-testid="filters-sprite"]');
  const state = {
    recording: false, changes: [], painted: [], frames: [], blanks: [], longTasks: [],
    inputs: [], lastStep: null, lastSrc: null, frameTs: 0, waiters: [],
  };
  const blank = () => img.hidden || !img.getAttribute('src') || !img.complete || img.naturalWidth === 0;
  new MutationObserver(() => {
    const step = img.getAttribute('data-step');
    const src = img.getAttribute('src');
    if (step === state.lastStep && src === state.lastSrc) return;
    state.lastStep = step; state.lastSrc = src;
    state.changes.push({ step, src, t: performance.now(), paintedAt: null });
  }).observe(img, { attributes: true, attributeFilter: ['data-step', 'src'] });
  // A 1-2 px box resized in every animation frame: its ResizeObserver callback runs in the same
  // frame after every requestAnimationFrame callback (and layout), just before paint, so what it
  // sees is what that frame paints, whichever rAF callback (the player's or ours) ran first.
  const tick = document.createElement('div');
  tick.style.cssText = 'position:fixed;left:0;top:0;height:1px;width:1px;opacity:0;pointer-events:none';
  document.body.appendChild(tick);
  new ResizeObserver(() => {
    const ts = state.frameTs;
    const fresh = state.changes.filter((c) => c.paintedAt === null);
    fresh.forEach((c, i) => { c.paintedAt = ts; c.skipped = i < fresh.length - 1; });
    const latest = fresh[fresh.length - 1];
    if (state.recording) {
      state.frames.push(ts);
      if (latest) state.painted.push({ step: latest.step, ts });
      if (blank()) state.blanks.push({ ts, step: img.getAttribute('data-step'), src: img.getAttribute('src'),
                                       hidden: img.hidden, complete: img.complete, width: img.naturalWidth });
    }
    const now = performance.now();
    state.waiters = state.waiters.filter((w) => {
      if (img.getAttribute('data-step') !== w.step || blank()) return true;
      w.resolve(now);
      return false;
    });
  }).observe(tick);
  const frame = (ts) => {
    state.frameTs = ts;
    tick.style.width = tick.style.width === '1px' ? '2px' : '1px';
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => {
      if (state.recording) for (const e of list.getEntries()) state.longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
  } catch (e) {}
  for (const type of ['input', 'click']) {
    window.addEventListener(type, (event) => state.inputs.push({ type, t: event.timeStamp, now: performance.now() }), true);
  }
  window.__dvb = {
    state,
    start() {
      Object.assign(state, { recording: true, painted: [], frames: [], blanks: [], longTasks: [], inputs: [] });
      state.changes = state.changes.filter((c) => c.paintedAt === null);
    },
    stop() {
      state.recording = false;
      return { painted: state.painted, frames: state.frames, blanks: state.blanks, longTasks: state.longTasks,
               inputs: state.inputs,
               changes: state.changes.map(({ step, t, paintedAt, skipped }) => ({ step, t, paintedAt, skipped })) };
    },
    // Resolves, in the first frame whose paint shows `step`'s sprite loaded, with the time then.
    shown(step) {
      return new Promise((resolve) => state.waiters.push({ step: String(step), resolve }));
    },
  };
}
"""


# ---------------------------------------------------------------------------------------- page helpers


def open_dashboard(context: Any, base_url: str, hash_: str = "") -> Any:
    page = context.new_page()
    page.goto(f"{base_url}/data/plugin_entry.html?name=deepviz{hash_}")
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=\"filters-sprite\"]');"
        " return i && i.getAttribute('data-step') && i.complete && i.naturalWidth > 0; }",
        timeout=120_000,
    )
    page.evaluate(PROBE)
    return page


def fastest_speed(page: Any) -> str:
    values = page.eval_on_selector_all('[data-testid="timeline-speed"] option', "os => os.map(o => Number(o.value))")
    return str(max(values))


def wait_for_step(page: Any, step: int, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(
        "step => { const i = document.querySelector('[data-testid=\"filters-sprite\"]');"
        " return i.getAttribute('data-step') === String(step) && i.complete && i.naturalWidth > 0; }",
        arg=step,
        timeout=timeout_ms,
    )


def play_through(page: Any, steps: list[int], speed: str) -> dict:
    """Rewind, play to the end at `speed`, and return what the page recorded."""
    page.get_by_test_id("timeline-speed").select_option(speed)
    page.get_by_test_id("timeline-rewind").click()
    wait_for_step(page, steps[0])
    page.wait_for_timeout(1000)  # the prefetch of the first checkpoints while paused has settled
    page.evaluate("() => window.__dvb.start()")
    started = time.perf_counter()
    page.get_by_test_id("timeline-play").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"timeline-play\"]').getAttribute('aria-pressed') === 'false'",
        timeout=600_000,
        polling=100,
    )
    wait_for_step(page, steps[-1])
    page.wait_for_timeout(100)
    wall = time.perf_counter() - started
    record = page.evaluate("() => window.__dvb.stop()")
    record["wall_s"] = wall
    return record


def summarize_play(record: dict, steps: list[int]) -> dict:
    painted = [p for p in record["painted"] if p["step"] is not None]
    # From the first painted change after play (the second checkpoint) to the last one.
    times = [p["ts"] for p in painted]
    intervals = [b - a for a, b in zip(times, times[1:])]
    shown_steps = [int(p["step"]) for p in painted]
    expected = steps[1:]
    skipped = sum(1 for c in record["changes"] if c.get("skipped"))
    missing = len(set(expected) - set(shown_steps))
    frame_gaps = [b - a for a, b in zip(record["frames"], record["frames"][1:])]
    duration = (times[-1] - times[0]) / 1000 if len(times) > 1 else float("nan")
    clicks = [entry["t"] for entry in record["inputs"] if entry["type"] == "click"]
    first = painted[0]["ts"] - clicks[0] if clicks and painted else float("nan")
    return {
        "intervals": intervals,
        "p50": percentile(intervals, 50),
        "p95": percentile(intervals, 95),
        "max": max(intervals) if intervals else float("nan"),
        "painted": len(painted),
        "missing": missing + skipped,
        "in_order": shown_steps == sorted(shown_steps),
        "blank": len(record["blanks"]),
        "blank_examples": record["blanks"][:3],
        "rate": (len(times) - 1) / duration if duration and duration == duration else float("nan"),
        "frame_p50": percentile(frame_gaps, 50),
        "janky_frames": sum(1 for gap in frame_gaps if gap > 25),
        "long_tasks": len(record["longTasks"]),
        "long_task_ms": sum(record["longTasks"]),
        "wall_s": record["wall_s"],
        "first_ms": first,
        "frame_period": percentile(frame_gaps, 50),
    }


# ------------------------------------------------------------------------------------------ scenarios


def start_server(logdir: str, loader: str, checkpoints: int) -> TensorBoardProcess:
    server = TensorBoardProcess(logdir, loader)
    server.wait_for_checkpoints(checkpoints)
    return server


def probe_image(server: TensorBoardProcess, step: int) -> int:
    _, body = server.get("predictions", run="cifar", step=step)
    return int(json.loads(body)["probe_images"][0])


def playback(browser: Any, logdir: str, loader: str, steps: list[int], image: bool) -> list[tuple[str, dict]]:
    """Playback on a fresh server: cold browser, then a new browser context, twice in it."""
    server = start_server(logdir, loader, len(steps))
    base = f"http://127.0.0.1:{server.port}"
    hash_ = ""
    if image:
        # No step in the hash: the page opens at the latest checkpoint, as without an image.
        hash_ = f"#run=cifar&view=filters&image={probe_image(server, steps[-1])}"
    results = []
    try:
        for labels in (["cold server, cold browser"], ["warm server, cold browser", "warm server, warm browser"]):
            context = browser.new_context(viewport=VIEWPORT)
            try:
                page = open_dashboard(context, base, hash_)
                speed = fastest_speed(page)
                for label in labels:
                    summary = summarize_play(play_through(page, steps, speed), steps)
                    summary["speed"] = speed
                    results.append((label, summary))
                    print(
                        f"  play ({'probe image' if image else 'no image'}, {label}): p50 {summary['p50']:.1f} ms, "
                        f"p95 {summary['p95']:.1f} ms, max {summary['max']:.1f} ms, {summary['blank']} blank, "
                        f"{summary['missing']} not painted, {summary['rate']:.1f} checkpoints/s, "
                        f"{summary['long_tasks']} long tasks",
                        flush=True,
                    )
            finally:
                context.close()
    finally:
        server.stop()
    return results


def choose_jumps(count: int, total: int, rng: random.Random) -> list[int]:
    """Distinct checkpoint indices none of which the paused prefetch (next 2) of an earlier one covers."""
    chosen: list[int] = []
    covered = {total - 1, total - 2, total - 3}  # the page opens at the last checkpoint
    candidates = list(range(total - 3))
    rng.shuffle(candidates)
    for index in candidates:
        if index in covered:
            continue
        chosen.append(index)
        covered.update({index, index + 1, index + 2})
        if len(chosen) == count:
            break
    return chosen


def jump(page: Any, index: int, step: int, how: str) -> float:
    """Latency (ms) from the input event to the first animation frame showing `step`'s sprite."""
    page.evaluate("() => { window.__dvb.state.inputs.length = 0; }")
    if how == "slider":
        page.get_by_test_id("timeline-slider").fill(str(index))
    else:
        page.get_by_test_id("timeline-step-forward").click()
    shown = page.evaluate("step => window.__dvb.shown(step)", step)
    inputs = page.evaluate("() => window.__dvb.state.inputs")
    kind = "input" if how == "slider" else "click"
    stamps = [entry["t"] for entry in inputs if entry["type"] == kind]
    if not stamps:
        raise RuntimeError(f"no {kind} event was seen for the jump to {step}")
    return shown - stamps[0]


def jumps(browser: Any, logdir: str, loader: str, steps: list[int], count: int) -> dict[str, list[float]]:
    server = start_server(logdir, loader, len(steps))
    rng = random.Random(0)
    indices = choose_jumps(count, len(steps), rng)
    results: dict[str, list[float]] = {}
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = open_dashboard(context, f"http://127.0.0.1:{server.port}")
        for label in ("cold", "warm"):
            latencies = []
            for index in indices:
                latencies.append(jump(page, index, steps[index], "slider"))
                page.wait_for_timeout(400)  # let the paused prefetch finish, as a user pausing would
            results[f"slider, {label}"] = latencies
        # Step-forward clicks from random places (the next checkpoint is prefetched while paused).
        latencies = []
        for index in rng.sample(range(len(steps) - 1), min(count, len(steps) - 1)):
            page.get_by_test_id("timeline-slider").fill(str(index))
            wait_for_step(page, steps[index])
            page.wait_for_timeout(400)
            latencies.append(jump(page, index + 1, steps[index + 1], "button"))
        results["step-forward button"] = latencies
        context.close()
    finally:
        server.stop()
    for label, values in results.items():
        print(
            f"  jumps ({label}): median {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms",
            flush=True,
        )
    return results


# ----------------------------------------------------------------------------------------------- main


def chromium_path() -> str:
    for candidate in (
        os.environ.get("DEEPVIZ_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("Chromium is not installed (apt-get install chromium, or set DEEPVIZ_CHROMIUM)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=100)
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--loader", choices=("rust", "python"), default="rust")
    parser.add_argument("--logdir", help="reuse or create the log here instead of a temporary directory")
    parser.add_argument("--jumps", type=int, default=30, help="random slider jumps, cold and warm")
    parser.add_argument("--label", default="", help="added to the section's title (e.g. before/after a change)")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    logdir = prepare_log(args.logdir, args.checkpoints, args.eval_size, prefix="deepviz_browser_")
    steps = [i * STEP_SPACING for i in range(args.checkpoints)]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            version = browser.version
            plays = {image: playback(browser, logdir, args.loader, steps, image) for image in (False, True)}
            latencies = jumps(browser, logdir, args.loader, steps, args.jumps)
        finally:
            browser.close()

    speed = plays[False][0][1]["speed"]
    play_rows = []
    for image, results in plays.items():
        for label, s in results:
            play_rows.append(
                [
                    "probe image selected" if image else "no image selected",
                    label,
                    s["p50"],
                    s["p95"],
                    s["max"],
                    s["blank"],
                    f"{s['painted']} / {len(steps) - 1}",
                    s["missing"],
                    s["first_ms"],
                    s["rate"],
                    s["janky_frames"],
                    f"{s['long_tasks']} ({s['long_task_ms']:.0f} ms)",
                ]
            )
    play_table = markdown_table(
        [
            "selection",
            "caches",
            "frame interval p50 (ms)",
            "p95 (ms)",
            "max (ms)",
            "blank frames",
            "changes painted",
            "checkpoints not painted",
            "play to first change (ms)",
            "checkpoints/s",
            "animation frames > 25 ms",
            "long tasks",
        ],
        play_rows,
    )
    jump_rows = [
        [label, len(values), percentile(values, 50), percentile(values, 95), max(values)]
        for label, values in latencies.items()
    ]
    jump_table = markdown_table(["step change", "jumps", "median (ms)", "p95 (ms)", "max (ms)"], jump_rows)
    worst_p95 = max(s["p95"] for results in plays.values() for _, s in results)
    blanks = sum(s["blank"] for results in plays.values() for _, s in results)
    period = percentile([s["frame_period"] for results in plays.values() for _, s in results], 50)
    body = (
        f"{args.checkpoints} checkpoints of the 3-layer CIFAR-10 net ({args.eval_size}-image corpus), real `tensorboard` "
        f"({args.loader} loader) on loopback, the dashboard page in headless Chromium {version} ({VIEWPORT['width']}x{VIEWPORT['height']}, "
        f"--disable-gpu), Filters view, default layer, playing from the first to the last checkpoint at {speed} checkpoints/s "
        f"(the fastest speed offered). Frame interval: time between successive painted changes of the filter sprite "
        f"(requestAnimationFrame timestamps of the frames that first show them); blank frame: an animation frame in which "
        f"the sprite has no src or is hidden, incomplete or 0 wide.\n\n{play_table}\n\n"
        f"Step change to painted sprite (input event to the first animation frame showing the new sprite, loaded); cold: "
        f"fresh server and browser, steps not visited or prefetched before; warm: the same jumps again.\n\n{jump_table}\n\n"
        f"Worst playback p95 frame interval: {worst_p95:.1f} ms (target <= 33); blank frames: {blanks} (target 0). "
        f"Animation frames come every {period:.1f} ms here, so a checkpoint every other frame (the 30/s beat) measures "
        f"33.3-33.4 ms: that is the target met; one frame late is 50 ms."
    )
    title = "Browser: playing 100 checkpoints" + (f" ({args.label})" if args.label else "")
    report(title, body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
