import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActivationLayout, FilterLayout, ThumbnailsLayout } from "../../src/api/types";
import {
  describeFilterPixel,
  filterIndex,
  filterPixelOrigin,
  locateActivationPixel,
  locateFilterPixel,
  locateThumbnail,
  nearSquare,
  spritePixel,
  thumbnailOrigin,
  thumbnailsLayout,
} from "../../src/lib/layout";
import { defined } from "../helpers";

// Made by test/fixtures/make_layouts.py with tensorboard_deepviz.server.render.
const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(join(here, "..", "fixtures", "layouts.json"), "utf8")) as {
  filters: {
    name: string;
    layout: FilterLayout;
    pixels: { x: number; y: number; expected: number[] | null }[];
    origins: { at: number[]; origin: number[] }[];
  }[];
  activations: {
    name: string;
    layout: ActivationLayout;
    pixels: { x: number; y: number; expected: number[] | null }[];
  }[];
  thumbnails: { count: number; thumb: [number, number]; columns: number | null; layout: ThumbnailsLayout }[];
  near_square: Record<string, [number, number]>;
};

describe("filter sprites (render.locate_filter_pixel)", () => {
  for (const testCase of fixture.filters) {
    it(`${testCase.name}: every sampled pixel maps to the same (filter, channel, row, col)`, () => {
      expect(testCase.pixels.length).toBeGreaterThan(100);
      expect(testCase.pixels.some((p) => p.expected === null)).toBe(true);
      expect(testCase.pixels.some((p) => p.expected !== null)).toBe(true);
      for (const { x, y, expected } of testCase.pixels) {
        const found = locateFilterPixel(testCase.layout, x, y);
        expect(found ? [found.filter, found.channel, found.row, found.col] : null, `pixel (${x}, ${y})`).toEqual(
          expected,
        );
      }
    });
    it(`${testCase.name}: origins match render.filter_pixel_origin and locate back`, () => {
      for (const { at, origin } of testCase.origins) {
        const [filter, channel, row, col] = at;
        const found = filterPixelOrigin(testCase.layout, { filter, channel, row, col });
        expect([found.x, found.y]).toEqual(origin);
        expect(locateFilterPixel(testCase.layout, found.x, found.y)).toEqual({ filter, channel, row, col });
      }
    });
  }

  it("describes a pointed-at weight in the layer's own terms", () => {
    const layoutOf = (name: string) =>
      defined(
        fixture.filters.find((c) => c.name === name),
        name,
      ).layout;
    expect(describeFilterPixel(layoutOf("conv 8x5x3x3"), { filter: 1, channel: 4, row: 2, col: 0 })).toEqual([
      ["channel", "4"],
      ["position", "row 2, col 0"],
    ]);
    const conv1d = layoutOf("conv1d 4x3x5");
    expect(conv1d.weight_shape).toEqual([4, 3, 5]);
    expect(describeFilterPixel(conv1d, { filter: 0, channel: 2, row: 0, col: 3 })).toEqual([
      ["channel", "2"],
      ["position", "3"],
    ]);
    // Conv3d: [F, C, d, kh, kw] drawn with C*d cells; cell 5 of depth 4 is channel 1, depth 1.
    const conv3d = layoutOf("conv3d 3x2x4x3x3");
    expect(conv3d.channels).toBe(8);
    expect(describeFilterPixel(conv3d, { filter: 2, channel: 5, row: 1, col: 2 })).toEqual([
      ["channel", "1"],
      ["position", "depth 1, row 1, col 2"],
    ]);
    expect(describeFilterPixel(layoutOf("batchnorm 6"), { filter: 3, channel: 0, row: 0, col: 0 })).toEqual([]);
    expect(describeFilterPixel(layoutOf("linear 10x37"), { filter: 3, channel: 0, row: 2, col: 1 })).toEqual([
      ["input", String(2 * 7 + 1)],
    ]);
    expect(describeFilterPixel(layoutOf("conv_rgb 6x3x5x5"), { filter: 0, channel: 0, row: 4, col: 4 })[0]).toEqual([
      "channels",
      "0, 1, 2 (as R, G, B)",
    ]);
  });

  it("maps a rendered filter back to the layer's own index when filters were selected", () => {
    const layout = { ...fixture.filters[0].layout, filter_indices: [3, 5, 9] };
    expect(filterIndex(layout, 1)).toBe(5);
    expect(filterIndex(fixture.filters[0].layout, 1)).toBe(1);
  });
});

describe("activation sprites (render.locate_activation_pixel)", () => {
  for (const testCase of fixture.activations) {
    it(`${testCase.name}: every sampled pixel maps to the same (channel, row, col)`, () => {
      for (const { x, y, expected } of testCase.pixels) {
        const found = locateActivationPixel(testCase.layout, x, y);
        expect(found ? [found.channel, found.row, found.col] : null, `pixel (${x}, ${y})`).toEqual(expected);
      }
    });
  }
});

describe("thumbnail sprites (render.thumbnails_layout)", () => {
  it("computes the same layout", () => {
    for (const { count, thumb, columns, layout } of fixture.thumbnails) {
      expect(thumbnailsLayout(count, thumb, columns ?? undefined)).toEqual(layout);
    }
  });
  it("places and finds thumbnails in reading order", () => {
    const layout = thumbnailsLayout(10, [32, 32], 4);
    expect(thumbnailOrigin(layout, 5)).toEqual({ x: 32, y: 32 });
    expect(locateThumbnail(layout, 33, 40)).toBe(5);
    expect(locateThumbnail(layout, 100, 70)).toBeNull(); // slot 11 of 10
  });
  it("near-square grids agree with Python", () => {
    for (const [count, grid] of Object.entries(fixture.near_square)) expect(nearSquare(Number(count))).toEqual(grid);
  });
});

describe("spritePixel", () => {
  it("undoes the CSS scaling of the displayed sprite", () => {
    const rect = { left: 100, top: 50, width: 400, height: 200 };
    expect(spritePixel(rect, { width: 200, height: 100 }, 100, 50)).toEqual({ x: 0, y: 0 });
    expect(spritePixel(rect, { width: 200, height: 100 }, 301, 151)).toEqual({ x: 100, y: 50 });
    expect(spritePixel(rect, { width: 200, height: 100 }, 499.9, 249.9)).toEqual({ x: 199, y: 99 });
  });
});
