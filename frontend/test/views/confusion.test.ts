import { describe, expect, it } from "vitest";
import { cellText, rowShares } from "../../src/views/confusion/view";

describe("confusion", () => {
  it("normalizes rows, leaving an empty row at 0", () => {
    expect(
      rowShares([
        [3, 1],
        [0, 0],
      ]),
    ).toEqual([
      [0.75, 0.25],
      [0, 0],
    ]);
  });
  it("writes counts, shares and signed changes", () => {
    expect(cellText(12, false, false)).toBe("12");
    expect(cellText(0.456, true, false)).toBe("0.46");
    expect(cellText(3, false, true)).toBe("+3");
    expect(cellText(-2, false, true)).toBe("-2");
    expect(cellText(0, false, true)).toBe("0");
    expect(cellText(-0.001, true, true)).toBe("0.00");
    expect(cellText(0.05, true, true)).toBe("+0.05");
  });
});
