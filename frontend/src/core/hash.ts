// The selection <-> the iframe's URL hash, so that a view can be reloaded (and linked within the
// iframe). TensorBoard's outer page owns the top-level URL; the iframe's own hash survives a
// reload of the frame. Hash writes use history.replaceState, so scrubbing the timeline never
// fills the browser's history, and are rate-limited (browsers throttle frequent replaceState).

import { FILTER_NORMS, ACTIVATION_NORMS, STATISTIC_NAMES, STATISTIC_SOURCES } from "../api/client";
import { initialState, VIEWS, type Key, type State, type Store } from "./store";

/** The keys that travel in the hash; the rest (runs, playing, polling) are per session. */
export const HASH_KEYS = [
  "run",
  "layer",
  "step",
  "image",
  "filter",
  "view",
  "norm",
  "activationNorm",
  "rowNormalize",
  "delta",
  "colorBy",
  "stat",
  "source",
  "logScale",
  "compare",
] as const satisfies readonly Key[];
export type HashState = Pick<State, (typeof HASH_KEYS)[number]>;

// Short names keep links readable.
const NAMES: Record<(typeof HASH_KEYS)[number], string> = {
  run: "run",
  layer: "layer",
  step: "step",
  image: "image",
  filter: "filter",
  view: "view",
  norm: "norm",
  activationNorm: "anorm",
  rowNormalize: "rownorm",
  delta: "delta",
  colorBy: "color",
  stat: "stat",
  source: "source",
  logScale: "log",
  compare: "",
};
const COMPARE_PARTS = ["steps", "layers", "filters", "image"] as const;
const COMPARE_NAMES: Record<(typeof COMPARE_PARTS)[number], string> = {
  steps: "csteps",
  layers: "clayers",
  filters: "cfilters",
  image: "cimage",
};

/** "#run=...&layer=...": selection keys always, toggles only when they differ from the default. */
export function encodeHash(state: Partial<HashState>): string {
  const defaults = initialState();
  const params = new URLSearchParams();
  for (const key of HASH_KEYS) {
    const value = state[key];
    if (value === undefined || value === null) continue;
    const always =
      key === "run" || key === "layer" || key === "step" || key === "image" || key === "filter" || key === "view";
    if (!always && JSON.stringify(value) === JSON.stringify(defaults[key])) continue;
    if (key === "compare") {
      const spec = value as State["compare"];
      for (const part of COMPARE_PARTS) if (spec[part]) params.set(COMPARE_NAMES[part], spec[part]);
    } else if (typeof value === "boolean") {
      params.set(NAMES[key], value ? "1" : "0");
    } else {
      params.set(NAMES[key], String(value));
    }
  }
  const text = params.toString();
  return text ? `#${text}` : "";
}

function nonNegativeInteger(text: string | null): number | undefined {
  if (text === null || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

function oneOf<T extends string>(text: string | null, options: readonly T[]): T | undefined {
  return options.find((option) => option === text);
}

function flag(text: string | null): boolean | undefined {
  if (text === "1" || text === "true") return true;
  if (text === "0" || text === "false") return false;
  return undefined;
}

/** What a hash says; unknown keys and malformed values are ignored, never thrown on. */
export function decodeHash(hash: string): Partial<HashState> {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const result: Partial<HashState> = {};
  const text = (key: keyof typeof NAMES) => params.get(NAMES[key]);
  const run = text("run");
  if (run) result.run = run;
  const layer = text("layer");
  if (layer) result.layer = layer;
  const step = nonNegativeInteger(text("step"));
  if (step !== undefined) result.step = step;
  const image = nonNegativeInteger(text("image"));
  if (image !== undefined) result.image = image;
  const filter = nonNegativeInteger(text("filter"));
  if (filter !== undefined) result.filter = filter;
  const view = oneOf(text("view"), VIEWS);
  if (view) result.view = view;
  const norm = oneOf(text("norm"), FILTER_NORMS);
  if (norm) result.norm = norm;
  const activationNorm = oneOf(text("activationNorm"), ACTIVATION_NORMS);
  if (activationNorm) result.activationNorm = activationNorm;
  const rowNormalize = flag(text("rowNormalize"));
  if (rowNormalize !== undefined) result.rowNormalize = rowNormalize;
  const delta = flag(text("delta"));
  if (delta !== undefined) result.delta = delta;
  const colorBy = oneOf(text("colorBy"), ["class", "cluster"] as const);
  if (colorBy) result.colorBy = colorBy;
  const stat = oneOf(text("stat"), STATISTIC_NAMES);
  if (stat) result.stat = stat;
  const source = oneOf(text("source"), STATISTIC_SOURCES);
  if (source) result.source = source;
  const logScale = flag(text("logScale"));
  if (logScale !== undefined) result.logScale = logScale;
  if (COMPARE_PARTS.some((part) => params.has(COMPARE_NAMES[part]))) {
    const part = (name: (typeof COMPARE_PARTS)[number]) => params.get(COMPARE_NAMES[name]) ?? "";
    result.compare = { steps: part("steps"), layers: part("layers"), filters: part("filters"), image: part("image") };
  }
  return result;
}

export interface HashWindow {
  location: { hash: string; href: string };
  history: { replaceState(data: unknown, unused: string, url?: string | URL | null): void; state: unknown };
  addEventListener(type: "hashchange", listener: () => void): void;
  setTimeout(handler: () => void, timeout: number): number;
  clearTimeout(id: number): void;
}

/**
 * Seed the store from the current hash, then keep the hash in step with the store (writes at
 * most every `delayMs`) and the store in step with hash edits.
 */
export function bindHash(store: Store, win: HashWindow, delayMs = 250): () => void {
  store.set(decodeHash(win.location.hash));
  let written = win.location.hash;
  let timer: number | null = null;

  const write = () => {
    timer = null;
    const hash = encodeHash(store.get());
    if (hash === written) return;
    written = hash;
    const url = new URL(win.location.href);
    url.hash = hash;
    // An absolute URL: a relative "#..." would resolve against the iframe's <base href>.
    win.history.replaceState(win.history.state, "", url.href);
  };
  const unsubscribe = store.subscribe(() => {
    if (timer === null) timer = win.setTimeout(write, delayMs);
  }, [...HASH_KEYS]);
  win.addEventListener("hashchange", () => {
    if (win.location.hash === written) return;
    written = win.location.hash;
    store.set(decodeHash(win.location.hash));
  });
  return () => {
    unsubscribe();
    if (timer !== null) win.clearTimeout(timer);
  };
}
