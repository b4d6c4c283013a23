// A sprite on the page: an <img> that changes only once its next image has loaded (ImageSwap),
// with an outline box over it and pointer events mapped to sprite pixels. Used for the filter
// and activation sprites.

import { errorText } from "../api/client";
import { ImageSwap } from "../core/timeline";
import { spritePixel } from "../lib/layout";
import { h } from "./dom";
import { ensureStyles } from "./styles";

const CSS = `
.dv-sprite-stage { position: relative; display: inline-block; max-width: 100%; line-height: 0; }
.dv-sprite { image-rendering: pixelated; image-rendering: crisp-edges; max-width: none; cursor: crosshair; background: #404040; }
.dv-outline { position: absolute; pointer-events: none; border: 2px solid var(--dv-accent); box-shadow: 0 0 0 1px #fff; }
.dv-outline-pinned { border-color: var(--dv-select); }
`;

export type Zoom = "fit" | "1" | "2" | "3";

export interface SpriteMeta {
  step: number;
  key: string;
}

export class SpriteStage {
  readonly element: HTMLElement;
  readonly image: HTMLImageElement;
  private readonly outlines: HTMLElement[];
  private readonly swap: ImageSwap<SpriteMeta>;
  private natural = { width: 0, height: 0 };
  zoom: Zoom = "fit";
  /** What the displayed image shows (null until one has loaded). */
  shown: SpriteMeta | null = null;

  constructor(
    testid: string,
    alt: string,
    load: (url: string) => Promise<HTMLImageElement>,
    private readonly onShown: (meta: SpriteMeta) => void,
    onFail: (error: unknown, url: string, meta: SpriteMeta) => void,
  ) {
    ensureStyles("sprite", CSS);
    this.image = h("img", { testid, class: "dv-sprite", attrs: { alt, draggable: "false" } });
    this.image.hidden = true;
    this.outlines = [
      h("div", { class: "dv-outline dv-outline-pinned" }),
      h("div", { class: "dv-outline dv-outline-hover" }),
    ];
    for (const outline of this.outlines) outline.hidden = true;
    this.element = h("div", { class: "dv-sprite-stage" }, this.image, ...this.outlines);
    this.swap = new ImageSwap<SpriteMeta>(
      load,
      (url, meta) => {
        this.image.src = url; // loaded and decoded already: shown from memory, no blank frame
        this.image.hidden = false;
        this.image.setAttribute("data-step", String(meta.step));
        this.shown = meta;
        this.onShown(meta);
      },
      onFail,
    );
  }

  /** Show `url` once loaded; resolves true when it is on screen. */
  show(url: string, meta: SpriteMeta, size: { width: number; height: number } | null = null): Promise<boolean> {
    return this.swap.show(url, meta).then((shown) => {
      if (shown) {
        this.natural = size ?? { width: this.image.naturalWidth, height: this.image.naturalHeight };
        this.applyZoom();
      }
      return shown;
    });
  }

  /** Nothing to show: hide the image and forget pending loads. */
  clear(): void {
    this.swap.cancel();
    this.image.hidden = true;
    this.image.removeAttribute("src");
    this.image.removeAttribute("data-step");
    this.shown = null;
    this.outline("hover", null);
    this.outline("pinned", null);
  }

  get current(): string | null {
    return this.swap.current;
  }

  setZoom(zoom: Zoom): void {
    this.zoom = zoom;
    this.applyZoom();
  }

  applyZoom(): void {
    const width = this.image.naturalWidth || this.natural.width;
    if (!width) return;
    if (this.zoom === "fit") {
      const available = Math.max(120, (this.element.parentElement?.clientWidth ?? width) - 4);
      const factor = Math.max(1, Math.min(4, Math.floor(available / width)));
      this.image.style.width = width * factor <= available ? `${width * factor}px` : "100%";
    } else {
      this.image.style.width = `${width * Number(this.zoom)}px`;
    }
  }

  /** The sprite pixel under a pointer event, for a sprite of `size` pixels. */
  pixelAt(event: MouseEvent, size: { width: number; height: number }): { x: number; y: number } | null {
    if (this.image.hidden) return null;
    const rect = this.image.getBoundingClientRect();
    return spritePixel(rect, size, event.clientX, event.clientY);
  }

  /** Outline a box of the sprite (sprite pixels), or hide the outline with null. */
  outline(
    which: "hover" | "pinned",
    box: { x: number; y: number; width: number; height: number } | null,
    size?: { width: number; height: number },
  ): void {
    const outline = this.outlines[which === "pinned" ? 0 : 1];
    if (!box || !size || this.image.hidden) {
      outline.hidden = true;
      return;
    }
    const scaleX = this.image.clientWidth / size.width;
    const scaleY = this.image.clientHeight / size.height;
    outline.hidden = false;
    outline.style.left = `${this.image.offsetLeft + box.x * scaleX - 1}px`;
    outline.style.top = `${this.image.offsetTop + box.y * scaleY - 1}px`;
    outline.style.width = `${box.width * scaleX}px`;
    outline.style.height = `${box.height * scaleY}px`;
  }
}

/** Why an image route failed: its JSON error message, asked for again (an <img> gets no body). */
export async function imageErrorText(getJson: (url: string) => Promise<unknown>, error: unknown, url: string) {
  try {
    await getJson(url);
  } catch (caught) {
    return `Could not load the image: ${errorText(caught)}`;
  }
  return `Could not load the image: ${errorText(error)}`;
}
