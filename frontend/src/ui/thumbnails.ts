// Thumbnails of eval images, drawn on small canvases from sprites of CHUNK consecutive images
// (`thumbnails?indices=a:b&columns=...`). A chunk is loaded once per page and reused by every
// view (corpus grid, confusion examples, cluster strips, scatter hover), so hovering around
// the confusion matrix costs no request after the first.

import type { RunSummary } from "../api/types";
import { thumbnailsUrl } from "../api/urls";
import type { AppContext } from "../core/context";
import { thumbnailOrigin, thumbnailsLayout } from "../lib/layout";
import { h, type Props } from "./dom";
import type { ImageCache } from "./images";

export const CHUNK = 256;
export const CHUNK_COLUMNS = 16;

export class Thumbnails {
  constructor(
    private readonly images: ImageCache,
    readonly run: string,
    readonly count: number,
    /** [h, w] of one thumbnail. */
    readonly thumb: [number, number],
  ) {}

  chunkOf(index: number): { chunk: number; start: number; size: number; position: number } {
    const chunk = Math.floor(index / CHUNK);
    const start = chunk * CHUNK;
    const size = Math.min(CHUNK, this.count - start);
    return { chunk, start, size, position: index - start };
  }

  chunkUrl(index: number): string {
    const { start, size } = this.chunkOf(index);
    return thumbnailsUrl(this.run, `${start}:${start + size - 1}`, CHUNK_COLUMNS);
  }

  /** Draw thumbnail `index` onto `canvas` (sized to one thumbnail); resolves when drawn. */
  async draw(canvas: HTMLCanvasElement, index: number): Promise<void> {
    if (index < 0 || index >= this.count) throw new Error(`image ${index} is outside the corpus of ${this.count}`);
    const sprite = this.images.peek(this.chunkUrl(index)) ?? (await this.images.load(this.chunkUrl(index)));
    this.paint(canvas, index, sprite);
  }

  /** Draw at once when the chunk is already loaded (no blank frame); else false. */
  drawNow(canvas: HTMLCanvasElement, index: number): boolean {
    const sprite = index >= 0 && index < this.count ? this.images.peek(this.chunkUrl(index)) : null;
    if (!sprite) return false;
    this.paint(canvas, index, sprite);
    return true;
  }

  private paint(canvas: HTMLCanvasElement, index: number, sprite: HTMLImageElement): void {
    const { size, position } = this.chunkOf(index);
    const layout = thumbnailsLayout(size, this.thumb, CHUNK_COLUMNS);
    const { x, y } = thumbnailOrigin(layout, position);
    const [height, width] = this.thumb;
    const context = canvas.getContext("2d");
    if (!context) return;
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(sprite, x, y, width, height, 0, 0, canvas.width, canvas.height);
  }

  /** A canvas showing thumbnail `index` at `displaySize` CSS pixels (its longer side). */
  canvas(index: number, displaySize: number, props: Props = {}): HTMLCanvasElement {
    const [height, width] = this.thumb;
    const canvas = h("canvas", { ...props, class: `dv-thumb ${props.class ?? ""}`.trim() });
    canvas.width = width;
    canvas.height = height;
    const ratio = displaySize / Math.max(width, height);
    canvas.style.width = `${Math.round(width * ratio)}px`;
    canvas.style.height = `${Math.round(height * ratio)}px`;
    canvas.setAttribute("data-index", String(index));
    if (!this.drawNow(canvas, index)) this.draw(canvas, index).catch(() => canvas.classList.add("dv-thumb-missing"));
    return canvas;
  }
}

const drawers = new WeakMap<ImageCache, Map<string, Thumbnails>>();

/** The thumbnail drawer of `run` (one per run and corpus), or null when it has no corpus. */
export function thumbnailsFor(context: Pick<AppContext, "thumbnailImages">, run: RunSummary | null): Thumbnails | null {
  if (!run || run.corpus_size < 1 || run.thumbnail_shape.length < 2) return null;
  let byRun = drawers.get(context.thumbnailImages);
  if (!byRun) {
    byRun = new Map();
    drawers.set(context.thumbnailImages, byRun);
  }
  const key = `${run.run}\u0000${run.corpus_size}\u0000${run.thumbnail_shape.join("x")}`;
  let thumbnails = byRun.get(key);
  if (!thumbnails) {
    thumbnails = new Thumbnails(context.thumbnailImages, run.run, run.corpus_size, [
      run.thumbnail_shape[0],
      run.thumbnail_shape[1],
    ]);
    byRun.set(key, thumbnails);
  }
  return thumbnails;
}
