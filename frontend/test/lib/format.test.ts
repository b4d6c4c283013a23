import { describe, expect, it } from "vitest";
import { formatNumber, percent } from "../../src/lib/format";

describe("formatNumber", () => {
  it("writes a few significant digits, tiny and huge values in exponent form, non-finite ones by name", () => {
    expect(formatNumber(1.23456)).toBe("1.235");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(0.0001234)).toBe("1.23e-4");
    expect(formatNumber(123456)).toBe("1.23e+5");
    expect(formatNumber(Number.NaN)).toBe("NaN");
    expect(formatNumber(-Infinity)).toBe("-Inf");
    expect(formatNumber(null)).toBe("–");
  });
});

describe("percent", () => {
  it("writes shares as percentages", () => {
    expect(percent(0.875)).toBe("87.5%");
    expect(percent(0.5, 0)).toBe("50%");
    expect(percent(undefined)).toBe("–");
    expect(percent(Infinity)).toBe("+Inf");
  });
});
