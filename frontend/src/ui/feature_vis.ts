// Drawing one unit's feature visualization from its layer's sprite onto a canvas of the image's own
// size (CSS scales it up, pixelated): every panel that shows a unit's image draws it this way, from
// the one sprite per render that playback prefetches.

import type { FeatureVisLayout } from "../api/types";
import { featureVisOrigin } from "../lib/feature_vis";

/** Draw cell `position` of `sprite` (laid out by `layout`) into `canvas`, resized to one cell. */
export function drawFeatureVisCell(
  canvas: HTMLCanvasElement,
  sprite: CanvasImageSource,
  layout: FeatureVisLayout,
  position: number,
): void {
  const [height, width] = layout.thumb;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return;
  const { x, y } = featureVisOrigin(layout, position);
  context.imageSmoothingEnabled = false;
  context.clearRect(0, 0, width, height);
  context.drawImage(sprite, x, y, width, height, 0, 0, width, height);
}
