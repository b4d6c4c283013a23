import { describe, expect, it } from "vitest";
import { nearestPoint, scatterPoints } from "../../src/charts/scatter";

describe("clusters scatter", () => {
  it("fits the finite points in the box, y up, and skips NaN/Inf", () => {
    const points = scatterPoints(
      [
        [0, 0],
        [2, 1],
        ["NaN", 1],
        [1, "Infinity"],
      ],
      100,
      10,
    );
    expect(points.map((p) => p.index)).toEqual([0, 1]);
    expect(points[0]).toEqual({ index: 0, x: 10, y: 70 });
    expect(points[1]).toEqual({ index: 1, x: 90, y: 30 });
  });
  it("finds the nearest point within a radius", () => {
    const points = [
      { index: 4, x: 10, y: 10 },
      { index: 7, x: 20, y: 10 },
    ];
    expect(nearestPoint(points, 14, 10, 8)?.index).toBe(4);
    expect(nearestPoint(points, 17, 11, 8)?.index).toBe(7);
    expect(nearestPoint(points, 50, 50, 8)).toBeNull();
  });
});
