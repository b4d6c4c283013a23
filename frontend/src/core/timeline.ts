// The timeline over a run's checkpoints: slider, play/pause, rewind, step back/forward, speed,
// keyboard (space toggles play, left/right arrows step), and the machinery that makes playback
// smooth:
//  - Prefetcher: at checkpoint i, the next k checkpoints' images (and JSON) are requested ahead,
//    through whatever the open view says it will need (providers).
//  - ImageSwap: a visible image changes only once the new one has loaded (no blank frame); a
//    later request supersedes an earlier one still loading (no flicker back).
//  - FrameGate + Player: playback moves on when the current frame is shown and the next one is
//    loaded (or a time-out), at most `speed` checkpoints per second, on animation frames: the
//    step changes at the start of the frame that is to show it, so each checkpoint stays on
//    screen for a whole number of display frames (2 at 30/s on a 60 Hz display), never 1 or 3.

import { findingsByStep, findingsTitle, worstSeverity } from "../lib/findings";
import { h, isTypingTarget, option, replaceChildren } from "../ui/dom";
import { checkpointAtOrAfter, checkpointIndex, currentRun } from "./derived";
import { SPEEDS } from "./state";
import type { Store } from "./store";

// ------------------------------------------------------------------ prefetch planning

/** The checkpoints to prefetch when at index `index`: the next `count` ones, in order (no wrap-around). */
export function stepsToPrefetch(checkpoints: readonly number[], index: number, count: number): number[] {
  if (index < 0 || count <= 0) return [];
  return checkpoints.slice(index + 1, index + 1 + count);
}

/** How far ahead to look: about a second of playback while playing, two checkpoints while paused. */
export function prefetchDepth(playing: boolean, speed: number): number {
  return playing ? Math.max(4, Math.ceil(speed * 1.5)) : 2;
}

export interface PrefetchItem {
  kind: "image" | "json";
  url: string;
}

/** What a view will load at `step` with the current selection (empty when it is not open). */
export type PrefetchProvider = (step: number) => PrefetchItem[];

export class Prefetcher {
  private readonly providers = new Set<PrefetchProvider>();
  private queue: PrefetchItem[] = [];
  private inFlight = 0;
  private readonly started = new Set<string>();

  constructor(
    private readonly loadImage: (url: string) => Promise<unknown>,
    private readonly loadJson: (url: string) => Promise<unknown>,
    private readonly maxInFlight = 6,
  ) {}

  register(provider: PrefetchProvider): () => void {
    this.providers.add(provider);
    return () => this.providers.delete(provider);
  }

  /** Items for the checkpoints after `index`, nearest first, each URL once. */
  plan(checkpoints: readonly number[], index: number, count: number): PrefetchItem[] {
    const seen = new Set<string>();
    const items: PrefetchItem[] = [];
    for (const step of stepsToPrefetch(checkpoints, index, count)) {
      for (const provider of this.providers) {
        for (const item of provider(step)) {
          if (seen.has(item.url)) continue;
          seen.add(item.url);
          items.push(item);
        }
      }
    }
    return items;
  }

  /**
   * Load everything the open views need at `step` now (outside the queue and its limit): the
   * player asks for the next frame with this and moves on once it has settled.
   */
  prepare(step: number): Promise<unknown> {
    const seen = new Set<string>();
    const loads: Promise<unknown>[] = [];
    for (const provider of this.providers) {
      for (const item of provider(step)) {
        if (seen.has(item.url)) continue;
        seen.add(item.url);
        loads.push(item.kind === "image" ? this.loadImage(item.url) : this.loadJson(item.url));
      }
    }
    return Promise.allSettled(loads);
  }

  /** Replace the waiting queue with a new plan and start loading (a few at a time). */
  run(checkpoints: readonly number[], index: number, count: number): PrefetchItem[] {
    const items = this.plan(checkpoints, index, count);
    this.queue = items.filter((item) => !this.started.has(item.url));
    this.pump();
    return items;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length) {
      const item = this.queue.shift() as PrefetchItem;
      if (this.started.has(item.url)) continue;
      this.started.add(item.url);
      if (this.started.size > 4096) this.started.clear(); // the loaders' own caches still hold them
      this.inFlight += 1;
      const load = item.kind === "image" ? this.loadImage(item.url) : this.loadJson(item.url);
      load
        .catch(() => this.started.delete(item.url))
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}

// ------------------------------------------------------------------ flicker-free image swapping

/**
 * Shows images in a visible element only once they have loaded. `show(url)` loads `url`
 * (through `load`, which also serves prefetched images at once) and then calls `apply`; if
 * another `show` came in meanwhile, the older one is dropped, so the display never goes back.
 */
export class ImageSwap<M = unknown> {
  private token = 0;
  private shown: string | null = null;

  constructor(
    private readonly load: (url: string) => Promise<unknown>,
    private readonly apply: (url: string, meta: M) => void,
    private readonly fail: (error: unknown, url: string, meta: M) => void = () => undefined,
  ) {}

  /** Resolves true when `url` is now displayed, false when superseded or failed. */
  async show(url: string, meta: M): Promise<boolean> {
    const token = ++this.token;
    try {
      await this.load(url);
    } catch (error) {
      if (token === this.token) this.fail(error, url, meta);
      return false;
    }
    if (token !== this.token) return false;
    this.shown = url;
    this.apply(url, meta);
    return true;
  }

  /** Forget pending loads (e.g. when the image is hidden because nothing is selected). */
  cancel(): void {
    this.token += 1;
  }

  get current(): string | null {
    return this.shown;
  }
}

// ------------------------------------------------------------------ playback

/** The loads a frame is waiting for; playback moves on when they have settled. */
export class FrameGate {
  private pending: Promise<unknown>[] = [];

  begin(): void {
    this.pending = [];
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.push(promise);
    return promise;
  }

  /** Resolves when everything tracked since begin() has settled, or after `timeoutMs`. */
  async settled(timeoutMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    const deadline = sleep(timeoutMs);
    let seen = 0;
    while (seen < this.pending.length) {
      const batch = this.pending.slice(seen);
      seen = this.pending.length;
      const result = await Promise.race([Promise.allSettled(batch).then(() => "done"), deadline.then(() => "timeout")]);
      if (result === "timeout") return;
    }
  }
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** The next animation frame's time (same time base as now()); without it, playback uses sleep(). */
  frame?(): Promise<number>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => window.setTimeout(resolve, Math.max(0, ms))),
  frame: () => new Promise((resolve) => window.requestAnimationFrame(resolve)),
};

/**
 * Advances the store's step while `playing`: waits for the current frame to be shown and for the
 * next one to be loaded (`prepare`), then for its beat (1/speed s after the previous one).
 */
export class Player {
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly gate: FrameGate,
    private readonly clock: Clock = realClock,
    private readonly frameTimeoutMs = 2000,
    /** Loads what the views show at a step (Prefetcher.prepare); the step changes once it settles. */
    private readonly prepare: ((step: number) => Promise<unknown>) | null = null,
    /** Seconds of playback loaded before the first step change (with `prepare`). */
    private readonly bufferSeconds = 0.5,
  ) {
    store.subscribe(
      (state) => {
        if (state.playing) void this.loop();
        else this.generation += 1;
      },
      ["playing"],
    );
  }

  /** The checkpoint after the current one, or null at the end (or with nothing to play). */
  private next(): number | null {
    return this.upcoming(1)[0] ?? null;
  }

  /** Up to `count` checkpoints after the current one. */
  private upcoming(count: number): number[] {
    const state = this.store.get();
    return stepsToPrefetch(currentRun(state)?.checkpoints ?? [], checkpointIndex(state), count);
  }

  private async loop(): Promise<void> {
    const generation = ++this.generation;
    const state = this.store.get();
    const run = currentRun(state);
    if (!run || run.checkpoints.length < 2) {
      this.store.set({ playing: false });
      return;
    }
    if (checkpointIndex(state) >= run.checkpoints.length - 1) this.store.set({ step: run.checkpoints[0] }); // play from the start
    if (this.prepare) {
      // Like a video player: start once about half a second of playback has loaded (or the frame
      // time-out passed), so that a cold server's slower first answers do not show as late frames.
      const prepare = this.prepare;
      const ahead = this.upcoming(Math.ceil(this.store.get().speed * this.bufferSeconds));
      await Promise.race([
        Promise.allSettled(ahead.map((step) => prepare(step))),
        this.clock.sleep(this.frameTimeoutMs),
      ]);
      if (generation !== this.generation) return;
    }
    const frame = this.clock.frame?.bind(this.clock);
    // Frames are due on a fixed beat (no drift); a late frame moves the beat, never bunches frames.
    // With animation frames, the beat starts on one, so beats fall on frames and not between two.
    let due = frame ? await frame() : this.clock.now();
    while (generation === this.generation) {
      await this.gate.settled(this.frameTimeoutMs, this.clock.sleep);
      if (generation !== this.generation) return;
      const upcoming = this.next();
      if (upcoming === null) {
        this.store.set({ playing: false });
        return;
      }
      if (this.prepare) {
        await Promise.race([this.prepare(upcoming).catch(() => undefined), this.clock.sleep(this.frameTimeoutMs)]);
        if (generation !== this.generation) return;
      }
      const interval = 1000 / Math.max(this.store.get().speed, 0.1);
      if (frame) {
        // The frame nearest the beat (within half a 60 Hz frame): a 33.3 ms beat is every 2nd frame.
        const slack = Math.min(8, interval / 2);
        const target = due + interval;
        let time = await frame();
        while (time < target - slack && generation === this.generation) time = await frame();
        due = time > target + slack ? time : target;
      } else {
        due = Math.max(due + interval, this.clock.now());
        await this.clock.sleep(due - this.clock.now());
      }
      if (generation !== this.generation) return;
      // Set inside the animation frame: views that have the next images loaded swap them in this frame.
      const step = this.next();
      if (step === null) {
        this.store.set({ playing: false });
        return;
      }
      this.store.set({ step });
    }
  }
}

// ------------------------------------------------------------------ the timeline bar

/**
 * Where `step` falls along the slider, from 0 (the first checkpoint) to 1 (the last): the slider
 * moves by checkpoint, so a step between two checkpoints lies between their places.
 */
export function stepFraction(checkpoints: readonly number[], step: number): number {
  const last = checkpoints.length - 1;
  if (last < 1 || step <= checkpoints[0]) return 0;
  if (step >= checkpoints[last]) return 1;
  let i = 0;
  while (checkpoints[i + 1] < step) i += 1;
  const [a, b] = [checkpoints[i], checkpoints[i + 1]];
  return (i + (step - a) / (b - a)) / last;
}

export interface TimelineDeps {
  store: Store;
  gate: FrameGate;
  prefetcher: Prefetcher;
}

function move(store: Store, delta: number | "start"): void {
  const state = store.get();
  const run = currentRun(state);
  if (!run?.checkpoints.length) return;
  const index = checkpointIndex(state);
  const target = delta === "start" ? 0 : Math.min(run.checkpoints.length - 1, Math.max(0, Math.max(index, 0) + delta));
  store.set({ step: run.checkpoints[target] });
}

/** Build the timeline bar (`[data-testid=timeline]`) and wire its keyboard shortcuts on `doc`. */
export function createTimeline({ store, gate, prefetcher }: TimelineDeps, doc: Document = document): HTMLElement {
  const button = (testid: string, label: string, title: string, onClick: () => void) =>
    h("button", {
      testid,
      class: "dv-button dv-icon",
      title,
      text: label,
      attrs: { type: "button", "aria-label": title },
      on: { click: onClick },
    });

  const rewind = button("timeline-rewind", "«", "Rewind to the first checkpoint", () => move(store, "start"));
  const back = button("timeline-step-back", "‹", "Previous checkpoint (←)", () => move(store, -1));
  const play = button("timeline-play", "▶", "Play (space)", () => store.set({ playing: !store.get().playing }));
  const forward = button("timeline-step-forward", "›", "Next checkpoint (→)", () => move(store, 1));
  const slider = h("input", {
    testid: "timeline-slider",
    class: "dv-slider",
    attrs: { type: "range", min: 0, max: 0, step: 1, value: 0, "aria-label": "Checkpoint" },
  });
  slider.addEventListener("input", () => {
    const run = currentRun(store.get());
    if (!run?.checkpoints.length) return;
    const index = Math.min(run.checkpoints.length - 1, Math.max(0, Number(slider.value)));
    store.set({ step: run.checkpoints[index], playing: false });
  });
  // Under the slider: a tick where each finding of the run starts (coloured by the worst there).
  const ticks = h("div", { testid: "timeline-findings", class: "dv-ticks" });
  const stepText = h("span", { testid: "timeline-step", class: "dv-step-value" });
  const position = h("span", { class: "dv-muted" });
  const speed = h("select", {
    testid: "timeline-speed",
    title: "Playback speed",
    attrs: { "aria-label": "Playback speed" },
  });
  for (const value of SPEEDS) speed.appendChild(option(String(value), `${value} / s`));
  speed.addEventListener("change", () => store.set({ speed: Number(speed.value) }));

  const container = h(
    "div",
    { testid: "timeline", class: "dv-timeline", attrs: { role: "group", "aria-label": "Timeline" } },
    h("div", { class: "dv-timeline-buttons" }, rewind, back, play, forward),
    h("div", { class: "dv-slider-box" }, slider, ticks),
    h("span", { class: "dv-step" }, h("span", { class: "dv-muted", text: "step " }), stepText),
    position,
    h("label", { class: "dv-inline", title: "Checkpoints per second while playing" }, "speed ", speed),
  );

  const renderState = () => {
    const state = store.get();
    const run = currentRun(state);
    const checkpoints = run?.checkpoints ?? [];
    const index = checkpointIndex(state);
    slider.max = String(Math.max(0, checkpoints.length - 1));
    slider.value = String(Math.max(0, index));
    const none = checkpoints.length === 0;
    for (const control of [slider, rewind, back, forward, play]) control.disabled = none;
    back.disabled = none || index <= 0;
    rewind.disabled = none || index <= 0;
    forward.disabled = none || index >= checkpoints.length - 1;
    play.disabled = checkpoints.length < 2;
    stepText.textContent = state.step === null ? "–" : String(state.step);
    replaceChildren(position, none ? "no checkpoints yet" : `checkpoint ${index + 1} of ${checkpoints.length}`);
    play.setAttribute("aria-pressed", state.playing ? "true" : "false");
    play.textContent = state.playing ? "❚❚" : "▶";
    play.title = state.playing ? "Pause (space)" : "Play (space)";
    play.setAttribute("aria-label", play.title);
    speed.value = String(state.speed);
  };
  store.subscribe(renderState, ["runs", "run", "step", "playing", "speed"]);
  renderState();

  const renderTicks = () => {
    const state = store.get();
    const run = currentRun(state);
    const checkpoints = run?.checkpoints ?? [];
    const findings = run && state.findings?.run === run.run ? state.findings.findings : [];
    const items = checkpoints.length
      ? findingsByStep(findings).map(([step, list]) => {
          const worst = worstSeverity(list) ?? "info";
          const fraction = stepFraction(checkpoints, step);
          return h("span", {
            testid: "timeline-finding",
            class: `dv-tick dv-sev-${worst}`,
            title: `from step ${step}:\n${findingsTitle(list)}`,
            attrs: { "data-step": step, "data-severity": worst, "data-position": fraction.toFixed(4) },
            style: { left: `calc(8px + (100% - 16px) * ${fraction.toFixed(4)})` },
            on: {
              click: () => {
                const target = checkpointAtOrAfter(checkpoints, step);
                if (target !== null) store.set({ step: target, playing: false });
              },
            },
          });
        })
      : [];
    replaceChildren(ticks, ...items);
  };
  store.subscribe(renderTicks, ["runs", "run", "findings"]);
  renderTicks();

  // A new step begins a new frame; then prefetch what follows it.
  store.subscribe(
    (_state, changed) => {
      if (changed.has("step") || changed.has("run")) gate.begin();
    },
    ["step", "run"],
  );
  const schedulePrefetch = () => {
    const state = store.get();
    const run = currentRun(state);
    if (!run) return;
    prefetcher.run(run.checkpoints, checkpointIndex(state), prefetchDepth(state.playing, state.speed));
  };
  // After the views have reacted to the change (they subscribe later), so the current frame goes first.
  store.subscribe(
    () => queueMicrotask(schedulePrefetch),
    [
      "runs",
      "run",
      "step",
      "layer",
      "image",
      "view",
      "norm",
      "activationNorm",
      "playing",
      "unit",
      "unitColours",
      "gradcam",
      "filtersShow",
    ],
  );

  doc.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isTypingTarget(event.target))
      return;
    if (event.key === " " || event.code === "Space") {
      event.preventDefault(); // no page scroll, and no click of a focused button
      if (!event.repeat && !play.disabled) store.set({ playing: !store.get().playing });
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault(); // a focused slider would move a second time
      store.set({ playing: false });
      move(store, event.key === "ArrowLeft" ? -1 : 1);
    }
  });
  // A focused button is clicked on space's keyup: keydown already toggled play.
  doc.addEventListener("keyup", (event) => {
    if ((event.key === " " || event.code === "Space") && !isTypingTarget(event.target)) event.preventDefault();
  });
  return container;
}
