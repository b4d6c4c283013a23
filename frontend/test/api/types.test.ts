import { describe, expect, it } from "vitest";
import { toNumber } from "../../src/api/types";

describe("toNumber", () => {
  it("reads the server's spelling of non-finite numbers", () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber("NaN")).toBeNaN();
    expect(toNumber("Infinity")).toBe(Infinity);
    expect(toNumber("-Infinity")).toBe(-Infinity);
    expect(toNumber(null)).toBeNaN();
  });
});
