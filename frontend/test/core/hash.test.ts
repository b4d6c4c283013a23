import { describe, expect, it, vi } from "vitest";
import { bindHash, decodeHash, encodeHash, followLink, HASH_KEYS, type HashWindow } from "../../src/core/hash";
import { initialState } from "../../src/core/state";
import { Store } from "../../src/core/store";
import { runSummary } from "../helpers";

function pick(state: ReturnType<typeof initialState>) {
  return Object.fromEntries(HASH_KEYS.map((key) => [key, state[key]]));
}

describe("hash round trip", () => {
  it("reads a link made before the state table (every key by its old name)", () => {
    const old =
      "#run=runs%2Fexp+1&layer=stage.0.conv1&step=400&image=12&filter=3&view=dynamics&norm=global&anorm=layer" +
      "&rownorm=1&delta=true&color=cluster&stat=nan_count&source=gradients&log=1&csteps=0%3A500&cimage=3";
    expect(decodeHash(old)).toEqual({
      run: "runs/exp 1",
      layer: "stage.0.conv1",
      step: 400,
      image: 12,
      filter: 3,
      view: "dynamics",
      norm: "global",
      activationNorm: "layer",
      rowNormalize: true,
      delta: true,
      colorBy: "cluster",
      stat: "nan_count",
      source: "gradients",
      logScale: true,
      compare: { steps: "0:500", layers: "", filters: "", image: "3", content: "" },
    });
    // ... and writes it back the same way (parameters in the same order).
    const state = { ...initialState(), ...decodeHash(old) };
    expect(encodeHash(state)).toBe(
      "#run=runs%2Fexp+1&layer=stage.0.conv1&step=400&image=12&filter=3&view=dynamics&norm=global&anorm=layer" +
        "&rownorm=1&delta=1&color=cluster&stat=nan_count&source=gradients&log=1&csteps=0%3A500&cimage=3",
    );
  });

  it("carries the selected unit and the units settings; links without them keep their meaning", () => {
    const hash = "#run=a&layer=conv1&step=4&unit=5&view=units&ucolour=1&usort=selectivity&gradcam=0";
    expect(decodeHash(hash)).toEqual({
      run: "a",
      layer: "conv1",
      step: 4,
      unit: 5,
      view: "units",
      unitColours: true,
      unitsSort: "selectivity",
      gradcam: false,
    });
    expect(encodeHash({ ...initialState(), ...decodeHash(hash) })).toBe(hash);
    const old = { ...initialState(), ...decodeHash("#run=a&layer=conv1&step=4&filter=2") };
    expect([old.filter, old.unit, old.unitColours, old.unitsSort, old.gradcam]).toEqual([2, null, false, "unit", true]);
    expect(encodeHash(old)).toBe("#run=a&layer=conv1&step=4&filter=2&view=filters");
    expect(decodeHash("#unit=-1&ucolour=2&usort=size&gradcam=maybe")).toEqual({});
  });

  it("carries the pinned confusion cell as cell=true,predicted; links without it keep working", () => {
    // As the findings route writes its links (Python's urlencode: the comma as %2C).
    expect(decodeHash("#run=r&view=confusion&step=10&cell=1%2C2")).toEqual({
      run: "r",
      view: "confusion",
      step: 10,
      cell: [1, 2],
    });
    expect(decodeHash("#run=r&view=confusion&step=10&cell=1,2").cell).toEqual([1, 2]);
    const state = { ...initialState(), run: "r", step: 10, view: "confusion", cell: [3, 0] as [number, number] };
    expect(encodeHash(state)).toBe("#run=r&step=10&cell=3%2C0&view=confusion");
    expect(decodeHash(encodeHash(state)).cell).toEqual([3, 0]);
    expect(encodeHash({ ...state, cell: null })).toBe("#run=r&step=10&view=confusion");
    expect(decodeHash("#run=r&step=10").cell).toBeUndefined();
    expect(decodeHash("#cell=1&cell2=3,4")).toEqual({});
  });

  it("keeps a view name it does not know (the tabs show the first tab for it)", () => {
    expect(decodeHash("#view=units")).toEqual({ view: "units" });
  });

  it("restores every linked key", () => {
    const state = {
      ...initialState(),
      run: "runs/exp 1&b=#2",
      layer: "stage.0.conv1",
      step: 400,
      image: 12,
      filter: 3,
      view: "confusion" as const,
      norm: "global" as const,
      activationNorm: "layer" as const,
      rowNormalize: true,
      delta: true,
      colorBy: "cluster" as const,
      stat: "nan_count" as const,
      source: "gradients" as const,
      logScale: true,
      compare: { steps: "0:500", layers: "conv1,fc|x", filters: "0:7", image: "3", content: "activations" },
      filtersShow: "feature_vis" as const,
    };
    const hash = encodeHash(state);
    expect(hash.startsWith("#")).toBe(true);
    const decoded = { ...initialState(), ...decodeHash(hash) };
    expect(pick(decoded)).toEqual(pick(state));
  });

  it("round-trips the defaults and leaves default toggles out", () => {
    const state = { ...initialState(), run: "a", layer: "l", step: 0 };
    const hash = encodeHash(state);
    expect(hash).toBe("#run=a&layer=l&step=0&view=filters");
    expect(pick({ ...initialState(), ...decodeHash(hash) })).toEqual(pick(state));
  });

  it("ignores malformed values instead of throwing", () => {
    expect(decodeHash("#step=-3&image=x&view=No%20pe&norm=max&rownorm=maybe&stat=median&run=")).toEqual({});
    expect(decodeHash("")).toEqual({});
    expect(decodeHash("#%E0%A4%A")).toEqual({});
  });
});

function fakeWindow(hash: string) {
  const timers: (() => void)[] = [];
  const listeners: (() => void)[] = [];
  const win: HashWindow & { flush(): void; fire(): void } = {
    location: { hash, href: `http://host/data/plugin_entry.html?name=deepviz${hash}` },
    history: {
      state: null,
      replaceState: vi.fn((_data: unknown, _unused: string, url?: string | URL | null) => {
        const next = new URL(String(url));
        win.location.hash = next.hash;
        win.location.href = next.href;
      }),
    },
    addEventListener: (_type, listener) => listeners.push(listener),
    setTimeout: (handler) => timers.push(handler),
    clearTimeout: () => undefined,
    flush: () => {
      for (const timer of timers.splice(0)) timer();
    },
    fire: () => {
      for (const listener of listeners) listener();
    },
  };
  return win;
}

describe("bindHash", () => {
  it("seeds the store from the hash and writes changes back with replaceState, keeping path and query", () => {
    const win = fakeWindow("#run=r&step=4&view=clusters");
    const store = new Store();
    bindHash(store, win);
    expect(store.get()).toMatchObject({ run: "r", step: 4, view: "clusters" });
    store.set({ step: 6 });
    store.set({ layer: "conv1" });
    expect(win.history.replaceState).not.toHaveBeenCalled(); // rate-limited
    win.flush();
    expect(win.history.replaceState).toHaveBeenCalledTimes(1);
    expect(win.location.href).toBe(
      "http://host/data/plugin_entry.html?name=deepviz#run=r&layer=conv1&step=6&view=clusters",
    );
    store.set({ playing: true }); // not linked
    win.flush();
    expect(win.history.replaceState).toHaveBeenCalledTimes(1);
  });

  it("applies a hash edited by hand", () => {
    const win = fakeWindow("");
    const store = new Store();
    bindHash(store, win);
    win.location.hash = "#run=x&image=7";
    win.fire();
    expect(store.get()).toMatchObject({ run: "x", image: 7 });
  });
});

describe("links", () => {
  const runs = [runSummary({ checkpoints: [0, 2, 4, 6] }), runSummary({ run: "b", checkpoints: [0, 10, 20] })];

  it("opens a link's step at the first checkpoint at or after it, on the link's run", () => {
    const win = fakeWindow("");
    const store = new Store({ loaded: true, runs, run: "main", layer: "conv1", step: 6, filter: 2, unit: 1 });
    bindHash(store, win);
    store.set({ playing: true });
    win.location.hash = "#run=main&view=dynamics&layer=fc&step=3&stat=nan_count&source=gradients";
    win.fire();
    expect(store.get()).toMatchObject({
      run: "main",
      view: "dynamics",
      layer: "fc",
      step: 4,
      stat: "nan_count",
      source: "gradients",
      filter: null, // of the old layer
      unit: null,
      playing: false,
    });
    win.location.hash = "#run=b&step=11";
    win.fire();
    expect([store.get().run, store.get().step]).toEqual(["b", 20]);
    win.location.hash = "#run=b&step=99";
    win.fire();
    expect(store.get().step).toBe(20); // past the last checkpoint: the last
  });

  it("follows a link at once and puts it in the address", () => {
    const win = fakeWindow("");
    const store = new Store({ loaded: true, runs, run: "main", layer: "conv1", step: 6 });
    bindHash(store, win);
    followLink(store, "#run=main&view=confusion&step=2&cell=1%2C3", win);
    expect(win.location.hash).toBe("#run=main&view=confusion&step=2&cell=1%2C3");
    expect(store.get()).toMatchObject({ view: "confusion", step: 2, cell: [1, 3], layer: "conv1" });
    win.fire(); // the browser's hashchange: nothing more to do
    expect(store.get()).toMatchObject({ view: "confusion", step: 2, cell: [1, 3] });
    followLink(store, "javascript:alert(1)", win); // not a link of this page
    expect(win.location.hash).toBe("#run=main&view=confusion&step=2&cell=1%2C3");
  });
});
