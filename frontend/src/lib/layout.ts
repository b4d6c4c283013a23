// Sprite geometry: which filter, channel and weight a pixel of a sprite shows, and where a
// thumbnail sits in a thumbnail sprite. Mirrors tensorboard_deepviz.server.render (`_locate`,
// `_origin`, `thumbnails_layout`) exactly; test/lib/layout.test.ts checks it against numbers
// computed by the Python code.
//
// Along each axis: divide by the tile pitch (tile + tile_gap), the remainder by the cell pitch
// (cell + cell_gap), that remainder by the scale.

import type { ActivationLayout, FilterLayout, ThumbnailsLayout } from "../api/types";

export interface FilterPixel {
  /** Index among the rendered filters (0..layout.filters-1); see `filterIndex` for the layer's own index. */
  filter: number;
  channel: number;
  row: number;
  col: number;
}

export interface ActivationPixel {
  channel: number;
  row: number;
  col: number;
}

function divmod(value: number, divisor: number): [number, number] {
  const quotient = Math.floor(value / divisor);
  return [quotient, value - quotient * divisor];
}

interface CellGeometry {
  kind: string;
  cell: [number, number];
  cell_gap: number;
  channel_grid: [number, number];
  channels: number;
  scale: number;
  cell_values: [number, number];
  width: number;
  height: number;
}

/** (cell, row, col) inside one tile for tile-relative (x, y), or null for gaps, unused slots, padding. */
function locateInTile(layout: CellGeometry, x: number, y: number, perCell: number): [number, number, number] | null {
  const [cellH, cellW] = layout.cell;
  const [cellRow, inY] = divmod(y, cellH + layout.cell_gap);
  const [cellCol, inX] = divmod(x, cellW + layout.cell_gap);
  if (inY >= cellH || inX >= cellW) return null; // in the gap between cells
  const cell = cellRow * layout.channel_grid[1] + cellCol;
  if (cell >= layout.channels) return null;
  const row = Math.floor(inY / layout.scale);
  const col = Math.floor(inX / layout.scale);
  if (layout.kind === "linear" && row * layout.cell_values[1] + col >= perCell) return null; // padding of a folded vector
  return [cell, row, col];
}

function inside(layout: { width: number; height: number }, x: number, y: number): boolean {
  return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < layout.width && y < layout.height;
}

/**
 * The weight drawn at pixel (x, y) of a filter sprite, or null (gap, unused slot, padding of a
 * folded Linear unit, outside). For "conv_rgb" `channel` is 0 (the pixel shows channels 0-2 at
 * once); for "linear" the input index is `row * cell_values[1] + col`.
 */
export function locateFilterPixel(layout: FilterLayout, x: number, y: number): FilterPixel | null {
  if (!inside(layout, x, y)) return null;
  const [tileH, tileW] = layout.tile;
  const [tileRow, inY] = divmod(y, tileH + layout.tile_gap);
  const [tileCol, inX] = divmod(x, tileW + layout.tile_gap);
  if (inY >= tileH || inX >= tileW) return null; // in the gap between tiles
  const filter = tileRow * layout.filter_grid[1] + tileCol;
  if (filter >= layout.filters) return null; // an unused slot of the last row of tiles
  const found = locateInTile(layout, inX, inY, layout.values_per_filter);
  if (!found) return null;
  const [channel, row, col] = found;
  return { filter, channel, row, col };
}

/** The activation drawn at pixel (x, y) of an activation sprite, or null. */
export function locateActivationPixel(layout: ActivationLayout, x: number, y: number): ActivationPixel | null {
  if (!inside(layout, x, y)) return null;
  const found = locateInTile(layout, x, y, layout.values_per_channel);
  if (!found) return null;
  const [channel, row, col] = found;
  return { channel, row, col };
}

/** Top-left pixel of the tile of rendered filter `filter` (for outlining it). */
export function filterTileOrigin(layout: FilterLayout, filter: number): { x: number; y: number } {
  const [tileH, tileW] = layout.tile;
  const [tileRow, tileCol] = divmod(filter, layout.filter_grid[1]);
  return { x: tileCol * (tileW + layout.tile_gap), y: tileRow * (tileH + layout.tile_gap) };
}

/** Top-left pixel (x, y) of one weight's scale x scale block: the inverse of locateFilterPixel. */
export function filterPixelOrigin(layout: FilterLayout, at: FilterPixel): { x: number; y: number } {
  const tile = filterTileOrigin(layout, at.filter);
  const [cellH, cellW] = layout.cell;
  const [cellRow, cellCol] = divmod(at.channel, layout.channel_grid[1]);
  return {
    x: tile.x + cellCol * (cellW + layout.cell_gap) + at.col * layout.scale,
    y: tile.y + cellRow * (cellH + layout.cell_gap) + at.row * layout.scale,
  };
}

/** The layer's own filter index of rendered filter `filter` (a sprite of selected filters renumbers them). */
/**
 * What a pointed-at weight is, in the layer's own terms: the input channel (and depth slice of a
 * Conv3d kernel, drawn as further cells) and the position in the kernel, or the input of a unit.
 */
export function describeFilterPixel(layout: FilterLayout, at: FilterPixel): [string, string][] {
  const shape = layout.weight_shape ?? [];
  if (layout.kind === "linear") {
    return shape.length === 1 ? [] : [["input", String(at.row * layout.cell_values[1] + at.col)]];
  }
  if (layout.kind === "conv_rgb")
    return [
      ["channels", "0, 1, 2 (as R, G, B)"],
      ["position", `row ${at.row}, col ${at.col}`],
    ];
  if (shape.length === 3)
    return [
      ["channel", String(at.channel)],
      ["position", String(at.col)],
    ];
  if (shape.length === 5) {
    const depth = shape[2];
    return [
      ["channel", String(Math.floor(at.channel / depth))],
      ["position", `depth ${at.channel % depth}, row ${at.row}, col ${at.col}`],
    ];
  }
  return [
    ["channel", String(at.channel)],
    ["position", `row ${at.row}, col ${at.col}`],
  ];
}

export function filterIndex(layout: FilterLayout, filter: number): number {
  return layout.filter_indices ? layout.filter_indices[filter] : filter;
}

/** Near-square grid for `count` >= 1 items: cols = ceil(sqrt(count)), rows = ceil(count / cols). */
export function nearSquare(count: number): [number, number] {
  // Python's math.isqrt(count - 1), exact even where Math.sqrt rounds.
  let root = Math.floor(Math.sqrt(count - 1));
  while (root * root > count - 1) root -= 1;
  while ((root + 1) * (root + 1) <= count - 1) root += 1;
  const cols = root + 1;
  return [Math.ceil(count / cols), cols];
}

/** Layout of a sprite of `count` thumbnails `thumb` = [h, w] in reading order, no gaps (render.thumbnails_layout). */
export function thumbnailsLayout(count: number, thumb: [number, number], columns?: number): ThumbnailsLayout {
  if (count < 1) throw new Error("a thumbnail sprite needs at least one image");
  const [h, w] = thumb;
  let cols = columns === undefined ? nearSquare(count)[1] : columns;
  if (cols < 1) throw new Error(`columns must be positive, got ${cols}`);
  cols = Math.min(cols, count);
  const rows = Math.ceil(count / cols);
  return { count, thumb: [h, w], columns: cols, rows, width: cols * w, height: rows * h };
}

/** Top-left pixel of the thumbnail at `position` of a thumbnail sprite. */
export function thumbnailOrigin(layout: ThumbnailsLayout, position: number): { x: number; y: number } {
  const [row, col] = divmod(position, layout.columns);
  return { x: col * layout.thumb[1], y: row * layout.thumb[0] };
}

/** Position in the sprite of the thumbnail under pixel (x, y), or null outside the used slots. */
export function locateThumbnail(layout: ThumbnailsLayout, x: number, y: number): number | null {
  if (!inside(layout, x, y)) return null;
  const position = Math.floor(y / layout.thumb[0]) * layout.columns + Math.floor(x / layout.thumb[1]);
  return position < layout.count ? position : null;
}

/**
 * The sprite pixel under a pointer event on an element that shows the whole sprite (scaled by
 * CSS to `rect`): integer coordinates, possibly outside the sprite.
 */
export function spritePixel(
  rect: { left: number; top: number; width: number; height: number },
  sprite: { width: number; height: number },
  clientX: number,
  clientY: number,
): { x: number; y: number } {
  const x = Math.floor(((clientX - rect.left) * sprite.width) / Math.max(rect.width, 1));
  const y = Math.floor(((clientY - rect.top) * sprite.height) / Math.max(rect.height, 1));
  return { x, y };
}
