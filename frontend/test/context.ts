// A context for rendering one view or panel into happy-dom: a store with the fake run selected
// (at its latest checkpoint, first layer), the client answering from fake_server.ts, and image
// caches whose images load at once.

import { vi } from "vitest";
import { Api } from "../src/api/client";
import { ProbeImages } from "../src/api/probes";
import type { AppContext } from "../src/core/context";
import type { State } from "../src/core/state";
import { Store } from "../src/core/store";
import { FrameGate, Prefetcher } from "../src/core/timeline";
import { ImageCache } from "../src/ui/images";
import { FAKE_RUN, fakeFetch, fakeServer } from "./fake_server";

/** An Image that loads any URL at once (except one containing "missing"), 10 x 10 pixels. */
class InstantImage {
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  decoding = "";
  naturalWidth = 10;
  naturalHeight = 10;
  private url = "";
  set src(url: string) {
    this.url = url;
    setTimeout(() => (url.includes("missing") ? this.onerror?.() : this.onload?.()), 0);
  }
  get src() {
    return this.url;
  }
  decode() {
    return Promise.resolve();
  }
}

export function testContext(state: Partial<State> = {}, answer: (url: string) => unknown = fakeServer) {
  const store = new Store({
    loaded: true,
    runs: [FAKE_RUN],
    run: FAKE_RUN.run,
    layer: "conv1",
    step: 6,
    ...state,
  });
  const fetch = vi.fn(fakeFetch(answer));
  const api = new Api(fetch);
  const images = new ImageCache(64, 1e9, () => new InstantImage() as unknown as HTMLImageElement);
  const thumbnailImages = new ImageCache(64, 1e9, () => new InstantImage() as unknown as HTMLImageElement);
  const prefetcher = new Prefetcher(
    (url) => images.load(url),
    (url) => api.getJson(url, true),
  );
  const ctx: AppContext = {
    store,
    api,
    images,
    thumbnailImages,
    probes: new ProbeImages(api),
    gate: new FrameGate(),
    prefetcher,
  };
  return { ctx, store, fetch };
}

/** Let pending answers and timers run. */
export const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

export function byTestId(root: ParentNode, id: string): HTMLElement {
  const element = root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

export function allByTestId(root: ParentNode, id: string): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
}

/** The URLs fetch() was asked for. */
export function fetched(fetch: ReturnType<typeof testContext>["fetch"]): string[] {
  return fetch.mock.calls.map((call) => String(call[0]));
}

/** A fresh element in the document to build into (happy-dom fires change events only in the document). */
export function place(): HTMLElement {
  const element = document.createElement("div");
  document.body.appendChild(element);
  return element;
}
