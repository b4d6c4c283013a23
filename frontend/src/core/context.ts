// What every view is given: the shared store, the API client, the image caches, the playback
// gate and the prefetcher. Built once by main.ts.

import type { Api, RunSummary } from "../api/client";
import type { ImageCache } from "../ui/images";
import { currentRun, type State, type Store } from "./store";
import { Thumbnails } from "../ui/thumbnails";
import type { FrameGate, Prefetcher } from "./timeline";

export interface AppContext {
  store: Store;
  api: Api;
  /** Sprites of filters and activations (the timeline's frames). */
  images: ImageCache;
  /** Thumbnail chunks, kept apart so playback does not evict them. */
  thumbnailImages: ImageCache;
  gate: FrameGate;
  prefetcher: Prefetcher;
}

const thumbnailStores = new WeakMap<ImageCache, Map<string, Thumbnails>>();

/** The thumbnail drawer of the selected run, or null when it has no corpus. */
export function thumbnailsFor(
  context: AppContext,
  run: RunSummary | null = currentRun(context.store.get()),
): Thumbnails | null {
  if (!run || run.corpus_size < 1 || run.thumbnail_shape.length < 2) return null;
  let byRun = thumbnailStores.get(context.thumbnailImages);
  if (!byRun) {
    byRun = new Map();
    thumbnailStores.set(context.thumbnailImages, byRun);
  }
  const key = `${run.run}\u0000${run.corpus_size}\u0000${run.thumbnail_shape.join("x")}`;
  let thumbnails = byRun.get(key);
  if (!thumbnails) {
    thumbnails = new Thumbnails(context.api, context.thumbnailImages, run.run, run.corpus_size, [
      run.thumbnail_shape[0],
      run.thumbnail_shape[1],
    ]);
    byRun.set(key, thumbnails);
  }
  return thumbnails;
}

/** Whether `run` logged records of `kind` at `step`. */
export function hasStep(run: RunSummary | null, kind: keyof RunSummary["steps_by_kind"], step: number | null): boolean {
  if (!run || step === null) return false;
  return (run.steps_by_kind[kind] ?? []).includes(step);
}

/** The step before `step` among `kind`'s steps, or null. */
export function previousStep(
  run: RunSummary | null,
  kind: keyof RunSummary["steps_by_kind"],
  step: number,
): number | null {
  const steps = (run?.steps_by_kind[kind] ?? []).filter((candidate) => candidate < step);
  return steps.length ? Math.max(...steps) : null;
}

export function selectedLayer(state: Readonly<State>) {
  return currentRun(state)?.layers.find((layer) => layer.name === state.layer) ?? null;
}

/** A view: its root element and what happens when its tab opens or closes. */
export interface View {
  readonly root: HTMLElement;
  setActive(active: boolean): void;
}
