// Thumbnails of eval images, drawn on small canvases from sprites of CHUNK consecutive images
// (`thumbnails?indices=a:b&columns=...`). A chunk is loaded once per page and reused by every
// view (corpus grid, confusion examples, cluster strips, scatter hover), so hovering around
// the confusion matrix costs no request after the first.

import type { Api } from "../api/client";
import type { ImageCache } from "./images";
import { thumbnailOrigin, thumbnailsLayout } from "../lib/layout";
import { h, type Props } from "./dom";

export const CHUNK = 256;
export const CHUNK_COLUMNS = 16;

export class Thumbnails {
  constructor(
    private readonly api: Api,
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
    return this.api.thumbnailsUrl(this.run, `${start}:${start + size - 1}`, CHUNK_COLUMNS);
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
