import { describe, expect, it } from "vitest";
import type { Finding } from "../../src/api/types";
import {
  countsText,
  findingsByLayer,
  findingsByStep,
  findingsTitle,
  isAlarming,
  severityRank,
  sortFindings,
  stepsText,
  worstSeverity,
} from "../../src/lib/findings";

function finding(severity: Finding["severity"], step: number, layer: string | null = null, message = ""): Finding {
  return {
    kind: "dead_units",
    severity,
    layer,
    step,
    last_step: step,
    message: message || `${severity} at ${step}`,
    evidence: {},
    link: "#",
  };
}

describe("findings", () => {
  it("orders by severity, then step, keeping the answer's order otherwise", () => {
    const list = [
      finding("info", 0, "a"),
      finding("warning", 9, "b"),
      finding("error", 5, "c"),
      finding("warning", 2, "d"),
      finding("warning", 2, "e"),
    ];
    expect(sortFindings(list).map((f) => f.layer)).toEqual(["c", "d", "e", "b", "a"]);
    expect(severityRank("error")).toBeLessThan(severityRank("warning"));
    expect(severityRank("bogus")).toBe(3);
  });

  it("finds the worst severity and whether anything is above information", () => {
    expect(worstSeverity([])).toBeNull();
    expect(worstSeverity([finding("info", 0), finding("warning", 1)])).toBe("warning");
    expect(worstSeverity([finding("warning", 1), finding("error", 3)])).toBe("error");
    expect(isAlarming([finding("info", 0)])).toBe(false);
    expect(isAlarming([finding("info", 0), finding("warning", 1)])).toBe(true);
  });

  it("groups by layer (worst first) and by starting step (in order)", () => {
    const list = [finding("info", 0, "a"), finding("error", 4, "a"), finding("warning", 4, null), finding("info", 2)];
    const byLayer = findingsByLayer(list);
    expect([...byLayer.keys()]).toEqual(["a"]);
    expect(byLayer.get("a")?.map((f) => f.severity)).toEqual(["error", "info"]);
    expect(findingsByStep(list).map(([step, found]) => [step, found.map((f) => f.severity)])).toEqual([
      [0, ["info"]],
      [2, ["info"]],
      [4, ["error", "warning"]],
    ]);
  });

  it("writes steps, counts and titles", () => {
    expect(stepsText(finding("info", 4))).toBe("step 4");
    expect(stepsText({ ...finding("info", 4), last_step: 9 })).toBe("steps 4–9");
    expect(countsText([])).toBe("");
    expect(countsText([finding("warning", 1), finding("error", 0), finding("warning", 2), finding("info", 3)])).toBe(
      "1 error · 2 warnings · 1 info",
    );
    expect(findingsTitle([finding("info", 1, null, "later"), finding("error", 3, null, "<b>x</b>")])).toBe(
      "error (step 3): <b>x</b>\ninfo (step 1): later",
    );
  });
});
