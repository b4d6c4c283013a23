// The selection <-> the iframe's URL hash, so that a view can be reloaded (and linked within the
// iframe). TensorBoard's outer page owns the top-level URL; the iframe's own hash survives a
// reload of the frame. Hash writes use history.replaceState, so scrubbing the timeline never
// fills the browser's history, and are rate-limited (browsers throttle frequent replaceState).
// Which fields travel, and how each is spelled, is the STATE_FIELDS table (state.ts).

import { resolveLink } from "./derived";
import { fieldEntries, type Key, type State } from "./state";
import { type Store, same } from "./store";

/** The fields that travel in the hash, in the table's order; the rest (runs, playing, polling) are per session. */
export const HASH_KEYS: readonly Key[] = fieldEntries()
  .filter(([, spec]) => spec.hash)
  .map(([key]) => key);

/** "#run=...&layer=...": the selection always, settings only when they differ from their default. */
export function encodeHash(state: Partial<State>): string {
  const params = new URLSearchParams();
  for (const [key, spec] of fieldEntries()) {
    const value = state[key];
    if (!spec.hash || value === undefined || value === null) continue;
    if (!spec.always && same(value, spec.initial)) continue;
    spec.hash.write(value, params);
  }
  const text = params.toString();
  return text ? `#${text}` : "";
}

/** What a hash says; unknown keys and malformed values are ignored, never thrown on. */
export function decodeHash(hash: string): Partial<State> {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const result: Record<string, unknown> = {};
  for (const [key, spec] of fieldEntries()) {
    const value = spec.hash?.read(params);
    if (value !== undefined) result[key] = value;
  }
  return result as Partial<State>;
}

/** Take what the link `hash` names into the store (made to fit the listing: derived.resolveLink). */
export function applyHash(store: Store, hash: string): void {
  store.set(resolveLink(decodeHash(hash), store.get()));
}

/**
 * Open a link of this dashboard (a URL hash, as the findings route writes them): the store takes
 * what it names at once, and the address gets it as a new history entry (so Back returns to what
 * was shown before); bindHash then finds the store already there.
 */
export function followLink(store: Store, link: string, win: { location: { hash: string } } = window): void {
  if (!link.startsWith("#")) return;
  applyHash(store, link);
  win.location.hash = link;
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
  applyHash(store, win.location.hash);
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
  }, HASH_KEYS);
  win.addEventListener("hashchange", () => {
    if (win.location.hash === written) return;
    written = win.location.hash;
    applyHash(store, win.location.hash);
  });
  return () => {
    unsubscribe();
    if (timer !== null) win.clearTimeout(timer);
  };
}
