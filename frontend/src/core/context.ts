// What every view and panel is given: the shared store, the API client, the image caches, the
// probe images, the playback gate and the prefetcher. Built once by main.ts.

import type { Api } from "../api/client";
import type { ProbeImages } from "../api/probes";
import type { ImageCache } from "../ui/images";
import type { Store } from "./store";
import type { FrameGate, Prefetcher } from "./timeline";

export interface AppContext {
  store: Store;
  api: Api;
  /** Sprites of filters and activations (the timeline's frames). */
  images: ImageCache;
  /** Thumbnail chunks, kept apart so playback does not evict them. */
  thumbnailImages: ImageCache;
  /** Which eval images are probe images, per run. */
  probes: ProbeImages;
  /** The loads the current frame waits for before playback moves on. */
  gate: FrameGate;
  prefetcher: Prefetcher;
}

/** A view (or panel): it draws only while shown, and catches up when shown again. */
export interface View {
  setActive(active: boolean): void;
}
