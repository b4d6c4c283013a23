import { describe, expect, it, vi } from "vitest";
import { Store } from "../../src/core/store";
import {
  type Clock,
  FrameGate,
  ImageSwap,
  Player,
  Prefetcher,
  prefetchDepth,
  stepsToPrefetch,
} from "../../src/core/timeline";
import { defined, runSummary } from "../helpers";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("stepsToPrefetch", () => {
  const checkpoints = [0, 10, 20, 30, 40, 50];
  it("takes the next k checkpoints after the current one", () => {
    expect(stepsToPrefetch(checkpoints, 0, 2)).toEqual([10, 20]);
    expect(stepsToPrefetch(checkpoints, 3, 5)).toEqual([40, 50]);
  });
  it("prefetches nothing at the end, for no selection or k = 0", () => {
    expect(stepsToPrefetch(checkpoints, 5, 3)).toEqual([]);
    expect(stepsToPrefetch(checkpoints, -1, 3)).toEqual([]);
    expect(stepsToPrefetch(checkpoints, 2, 0)).toEqual([]);
  });
  it("looks further ahead while playing fast", () => {
    expect(prefetchDepth(false, 30)).toBe(2);
    expect(prefetchDepth(true, 1)).toBe(4);
    expect(prefetchDepth(true, 30)).toBe(45);
  });
});

describe("Prefetcher", () => {
  it("asks every provider for each upcoming step, nearest first, each URL once", () => {
    const prefetcher = new Prefetcher(vi.fn(), vi.fn());
    prefetcher.register((step) => [{ kind: "image", url: `filters?step=${step}` }]);
    prefetcher.register((step) => [
      { kind: "json", url: `confusion?step=${step}` },
      { kind: "image", url: "thumbnails?indices=0:255" },
    ]);
    expect(prefetcher.plan([0, 2, 4, 6], 1, 2).map((item) => item.url)).toEqual([
      "filters?step=4",
      "confusion?step=4",
      "thumbnails?indices=0:255",
      "filters?step=6",
      "confusion?step=6",
    ]);
  });

  it("loads images and JSON with their loaders, a few at a time, never twice", async () => {
    const pending: { url: string; done: () => void }[] = [];
    const loadImage = vi.fn((url: string) => {
      const d = deferred();
      pending.push({ url, done: () => d.resolve() });
      return d.promise;
    });
    const loadJson = vi.fn(() => Promise.resolve({}));
    const prefetcher = new Prefetcher(loadImage, loadJson, 2);
    prefetcher.register((step) => [{ kind: "image", url: `img${step}` }]);
    prefetcher.register((step) => (step === 3 ? [{ kind: "json", url: "json3" }] : []));
    prefetcher.run([0, 1, 2, 3, 4], 0, 4);
    expect(loadImage.mock.calls.map((call) => call[0])).toEqual(["img1", "img2"]);
    pending[0].done();
    await tick();
    expect(loadImage.mock.calls.map((call) => call[0])).toEqual(["img1", "img2", "img3"]);
    pending[1].done();
    await tick();
    expect(loadJson).toHaveBeenCalledWith("json3");
    // Moving on one step: what was started is not started again.
    prefetcher.run([0, 1, 2, 3, 4], 1, 4);
    await tick();
    expect(loadImage.mock.calls.filter((call) => call[0] === "img2")).toHaveLength(1);
  });
});

describe("ImageSwap", () => {
  it("swaps the display only after the new image has loaded", async () => {
    const loads = new Map<string, ReturnType<typeof deferred<void>>>();
    const applied: string[] = [];
    const swap = new ImageSwap<number>(
      (url) => {
        const d = deferred();
        loads.set(url, d);
        return d.promise;
      },
      (url, step) => applied.push(`${url}@${step}`),
    );
    const shown = swap.show("a.png", 1);
    await tick();
    expect(applied).toEqual([]); // still loading: the old image stays
    defined(loads.get("a.png")).resolve();
    expect(await shown).toBe(true);
    expect(applied).toEqual(["a.png@1"]);
    expect(swap.current).toBe("a.png");
  });

  it("never goes back to an image superseded while it loaded", async () => {
    const loads = new Map<string, ReturnType<typeof deferred<void>>>();
    const applied: string[] = [];
    const swap = new ImageSwap<number>(
      (url) => {
        const d = deferred();
        loads.set(url, d);
        return d.promise;
      },
      (url) => applied.push(url),
    );
    const first = swap.show("step2.png", 2);
    const second = swap.show("step4.png", 4);
    defined(loads.get("step4.png")).resolve();
    expect(await second).toBe(true);
    defined(loads.get("step2.png")).resolve(); // late: must not replace step 4
    expect(await first).toBe(false);
    expect(applied).toEqual(["step4.png"]);
  });

  it("reports a failed load of the latest image only, and keeps the old one shown", async () => {
    const fail = vi.fn();
    const applied: string[] = [];
    const swap = new ImageSwap<number>(
      (url) => (url === "bad" ? Promise.reject(new Error("404")) : Promise.resolve()),
      (url) => applied.push(url),
      fail,
    );
    await swap.show("good", 1);
    expect(await swap.show("bad", 2)).toBe(false);
    expect(fail).toHaveBeenCalledTimes(1);
    expect(applied).toEqual(["good"]);
    expect(swap.current).toBe("good");
  });

  it("cancel() drops a pending swap", async () => {
    const d = deferred();
    const apply = vi.fn();
    const swap = new ImageSwap(() => d.promise, apply);
    const shown = swap.show("x", 0);
    swap.cancel();
    d.resolve();
    expect(await shown).toBe(false);
    expect(apply).not.toHaveBeenCalled();
  });
});

describe("FrameGate", () => {
  it("waits for everything tracked since begin(), including loads added while waiting", async () => {
    const gate = new FrameGate();
    const never = () => new Promise<void>(() => undefined);
    gate.begin();
    const a = deferred();
    const b = deferred();
    gate.track(a.promise);
    let done = false;
    const settled = gate.settled(10_000, never).then(() => (done = true));
    gate.track(b.promise);
    a.resolve();
    await tick();
    expect(done).toBe(false);
    b.resolve();
    await settled;
    expect(done).toBe(true);
  });

  it("gives up after the time-out", async () => {
    const gate = new FrameGate();
    gate.begin();
    gate.track(new Promise(() => undefined));
    const timeout = deferred();
    const settled = gate.settled(50, () => timeout.promise);
    timeout.resolve();
    await settled;
  });
});

describe("Player", () => {
  it("steps through the checkpoints while playing, waiting for each frame, and stops at the end", async () => {
    const store = new Store({ runs: [runSummary()], run: "main", step: 0 });
    const gate = new FrameGate();
    const sleeps: number[] = [];
    // The frame time-out (2 s) never fires here; the pause between frames passes at once.
    const clock: Clock = {
      now: () => 0,
      sleep: (ms) => {
        if (ms >= 2000) return new Promise(() => undefined);
        sleeps.push(ms);
        return Promise.resolve();
      },
    };
    const frames: ReturnType<typeof deferred<void>>[] = [];
    store.subscribe(() => {
      gate.begin();
      const frame = deferred();
      frames.push(frame);
      gate.track(frame.promise);
    }, ["step"]);
    new Player(store, gate, clock);
    store.set({ speed: 10, playing: true });
    await tick();
    expect(store.get().step).toBe(2);
    await tick();
    expect(store.get().step).toBe(2); // frame of step 2 not shown yet: wait
    frames[0].resolve();
    await tick();
    expect(store.get().step).toBe(4);
    frames[1].resolve();
    await tick();
    frames[2].resolve();
    await tick();
    expect(store.get().step).toBe(6);
    expect(store.get().playing).toBe(false);
    expect(sleeps).toContain(100);
  });

  it("buffers half a second before the first change, then changes a step only once it has loaded", async () => {
    const store = new Store({ runs: [runSummary()], run: "main", step: 0, speed: 4 });
    const gate = new FrameGate();
    const clock: Clock = {
      now: () => 0,
      sleep: (ms) => (ms >= 2000 ? new Promise(() => undefined) : Promise.resolve()),
    };
    const loads = new Map<number, ReturnType<typeof deferred<void>>>();
    const prepare = (step: number) => {
      if (!loads.has(step)) loads.set(step, deferred());
      return defined(loads.get(step)).promise;
    };
    new Player(store, gate, clock, 2000, prepare);
    store.set({ playing: true });
    await tick();
    expect([...loads.keys()]).toEqual([2, 4]); // 0.5 s at 4 checkpoints/s
    defined(loads.get(2)).resolve();
    await tick();
    expect(store.get().step).toBe(0); // the buffer is not full yet
    defined(loads.get(4)).resolve();
    await tick();
    await tick();
    expect(store.get().step).toBe(4);
    expect(loads.has(6)).toBe(true);
    await tick();
    expect(store.get().step).toBe(4); // step 6 has not loaded: the frame waits
    defined(loads.get(6)).resolve();
    await tick();
    await tick();
    expect(store.get().step).toBe(6);
    expect(store.get().playing).toBe(false);
  });

  it("changes steps on animation frames, every second frame at 30 checkpoints/s on a 60 Hz display", async () => {
    const checkpoints = Array.from({ length: 8 }, (_, i) => i);
    const store = new Store({ runs: [runSummary({ checkpoints })], run: "main", step: 0, speed: 30 });
    const gate = new FrameGate();
    let time = 1000;
    const clock: Clock = {
      now: () => time,
      sleep: (ms) => (ms >= 2000 ? new Promise(() => undefined) : Promise.resolve()),
      frame: () => {
        time += 1000 / 60;
        return Promise.resolve(time);
      },
    };
    const changedAt: number[] = [];
    store.subscribe(() => changedAt.push(time), ["step"]);
    new Player(store, gate, clock);
    store.set({ playing: true });
    for (let i = 0; i < 40 && store.get().playing; i++) await tick();
    expect(store.get().step).toBe(7);
    const intervals = changedAt.slice(1).map((t, i) => t - changedAt[i]);
    expect(intervals).toHaveLength(6);
    for (const interval of intervals) expect(interval).toBeCloseTo(2000 / 60, 6);
  });

  it("restarts from the first checkpoint when play is pressed at the last one, and pauses", async () => {
    const store = new Store({ runs: [runSummary()], run: "main", step: 6 });
    const gate = new FrameGate();
    const wake = deferred();
    const clock: Clock = { now: () => 0, sleep: () => wake.promise };
    new Player(store, gate, clock);
    store.set({ playing: true });
    expect(store.get().step).toBe(0);
    store.set({ playing: false });
    wake.resolve();
    await tick();
    await tick();
    expect(store.get().step).toBe(0);
  });
});
