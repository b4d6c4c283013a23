import { describe, expect, it } from "vitest";
import { COLOURS } from "../../src/generated/contract";
import { ACTIVATION_KEY, categoricalColor, gradient, mix, rgb, WEIGHT_KEY } from "../../src/lib/colours";

describe("legend colours", () => {
  it("are the renderer's, from the generated contract", () => {
    expect(WEIGHT_KEY[0][0]).toBe(gradient(COLOURS.diverging));
    expect(WEIGHT_KEY[0][0]).toMatch(/^linear-gradient\(to right, rgb\(59, 76, 192\), .*rgb\(180, 4, 38\)\)$/);
    expect(ACTIVATION_KEY[0][0]).toBe(gradient(COLOURS.sequential));
    expect(WEIGHT_KEY.slice(1)).toEqual([
      [rgb(COLOURS.nan), "NaN"],
      [rgb(COLOURS.pos_inf), "+Inf"],
      [rgb(COLOURS.neg_inf), "-Inf"],
    ]);
    expect(ACTIVATION_KEY.slice(1)).toEqual(WEIGHT_KEY.slice(1));
  });
});

describe("colour helpers", () => {
  it("blend, clamped", () => {
    expect(mix([0, 0, 0], [255, 255, 255], 0.5)).toBe("rgb(128, 128, 128)");
    expect(mix([0, 0, 0], [255, 255, 255], 2)).toBe("rgb(255, 255, 255)");
  });
  it("give each category its colour, grey for none", () => {
    expect(categoricalColor(0)).toBe("#4e79a7");
    expect(categoricalColor(-1)).toBe("#999999");
    expect(categoricalColor(25)).toMatch(/^hsl\(/);
    expect(categoricalColor(25)).not.toBe(categoricalColor(26));
  });
});
