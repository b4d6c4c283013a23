import { describe, expect, it } from "vitest";
import type { UnitSummary } from "../../src/api/types";
import { COLOURS } from "../../src/generated/contract";
import { categoricalColor, parseColour, rgbToHsl, sequentialColour, unitColour } from "../../src/lib/colours";
import { boxOnImage, cropX, GRADCAM_ALPHA, gradcamPixels, sortUnits, unitSeries } from "../../src/lib/units";

const unit = (index: number, selectivity: number | "NaN", topClass: number, dead = false): UnitSummary => ({
  unit: index,
  max: dead ? 0 : 1,
  mean: 0.5,
  top_class: topClass,
  selectivity,
  dead,
});

describe("sortUnits", () => {
  const units = [
    unit(0, 0.2, 1),
    unit(1, 0.9, 0),
    unit(2, 0, 0, true),
    unit(3, "NaN", 2),
    unit(4, 0.9, 1),
    unit(5, 0.5, 0),
  ];

  it("keeps the units' order by index", () => {
    expect(sortUnits(units, "unit")).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("puts the most selective first, a broken (NaN) one after every number, dead units last", () => {
    expect(sortUnits(units, "selectivity")).toEqual([1, 4, 5, 0, 3, 2]);
  });

  it("groups by top class, most selective first within a class, dead units last", () => {
    expect(sortUnits(units, "class")).toEqual([1, 5, 4, 0, 3, 2]);
  });
});

describe("boxOnImage", () => {
  it("maps a box in input pixels onto the displayed image", () => {
    // input 16 x 32 (H x W) shown at 64 x 32 CSS pixels: x scaled by 2, y by 2
    expect(boxOnImage([2, 4, 10, 12], [16, 32], { width: 64, height: 32 })).toEqual({
      left: 8,
      top: 4,
      width: 16,
      height: 16,
    });
  });

  it("keeps the box inside the image and at least one pixel", () => {
    expect(boxOnImage([-3, -3, 40, 40], [16, 16], { width: 48, height: 48 })).toEqual({
      left: 0,
      top: 0,
      width: 48,
      height: 48,
    });
    expect(boxOnImage([5, 5, 5, 5], [100, 100], { width: 10, height: 10 })).toEqual({
      left: 0.5,
      top: 0.5,
      width: 1,
      height: 1,
    });
  });
});

describe("top-images sprite and history", () => {
  it("places crops one pixel apart", () => {
    expect([0, 1, 8].map((i) => cropX(i))).toEqual([0, 49, 392]);
    expect(cropX(2, 16)).toBe(34);
  });

  it("reads one unit's column of a [step][unit] table", () => {
    expect(
      unitSeries(
        { steps: [0, 5, 9] },
        [
          [1, 0.5],
          [1, "NaN"],
          [0.3, 0.2],
        ],
        1,
      ),
    ).toEqual([
      [0, 0.5],
      [5, Number.NaN],
      [9, 0.2],
    ]);
  });
});

describe("gradcamPixels", () => {
  it("divides by the top of the route's scale: one colour scale for every checkpoint", () => {
    const pixels = gradcamPixels([0, 1, 2, 4, "NaN"], [0, 2]);
    const alpha = (i: number) => pixels[i * 4 + 3];
    expect(alpha(0)).toBe(0); // nothing: transparent
    expect(alpha(1)).toBe(Math.round(0.5 * GRADCAM_ALPHA * 255));
    expect(alpha(2)).toBe(Math.round(GRADCAM_ALPHA * 255)); // the top of the scale
    expect(alpha(3)).toBe(alpha(2)); // beyond the scale: clamped
    expect(alpha(4)).toBe(0); // NaN: transparent
    expect([...pixels.slice(8, 11)]).toEqual([...COLOURS.sequential[COLOURS.sequential.length - 1]]);
    // The same value on a scale twice as large is half as strong.
    expect(gradcamPixels([2], [0, 4])[3]).toBe(alpha(1));
  });

  it("draws nothing for an empty scale", () => {
    expect([...gradcamPixels([1, 2], [0, 0])]).toEqual(Array(8).fill(0));
    expect([...gradcamPixels([1], [0, "NaN"])]).toEqual([0, 0, 0, 0]);
  });
});

describe("unit colours", () => {
  it("gives the top class's hue and the selectivity as saturation", () => {
    const channels = (css: string) => (css.match(/\d+/g) ?? []).map(Number);
    const [hue, saturation] = rgbToHsl(parseColour(categoricalColor(2)));
    const vivid = rgbToHsl(channels(unitColour(2, 1)));
    expect(vivid[0]).toBeCloseTo(hue, 0);
    expect(vivid[1]).toBeCloseTo(saturation, 1);
    expect(rgbToHsl(channels(unitColour(2, 0.5)))[1]).toBeCloseTo(saturation / 2, 1);
    const spread = (rgb: number[]) => Math.max(...rgb) - Math.min(...rgb);
    expect(spread(channels(unitColour(2, 0.25)))).toBeLessThan(spread(channels(unitColour(2, 0.5))));
    expect(unitColour(2, 0)).toMatch(/^rgb\((\d+), \1, \1\)$/); // grey
    expect(unitColour(2, Number.NaN)).toBe(unitColour(2, 0));
    expect(unitColour(30, 1)).toMatch(/^rgb\(/); // beyond the 20 named colours
  });

  it("reads the category colours and interpolates the sequential map", () => {
    expect(parseColour("#4e79a7")).toEqual([78, 121, 167]);
    expect(parseColour("hsl(0.0, 100%, 50%)")).toEqual([255, 0, 0]);
    expect(sequentialColour(0)).toEqual([...COLOURS.sequential[0]]);
    expect(sequentialColour(1)).toEqual([...COLOURS.sequential[COLOURS.sequential.length - 1]]);
    expect(sequentialColour(Number.NaN)).toEqual([...COLOURS.sequential[0]]);
  });
});
