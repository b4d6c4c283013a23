import { describe, expect, it } from "vitest";
import { anomalyTarget, describeAnomaly } from "../../src/views/dynamics/view";
import { runSummary } from "../helpers";

describe("dynamics", () => {
  const anomaly = {
    step: 3,
    layer: "fc",
    sources: [
      { source: "weights" as const, nan_count: 1, inf_count: 0 },
      { source: "activations" as const, nan_count: 4, inf_count: 2 },
    ],
  };
  it("jumps to the first checkpoint at or after the anomaly, and its layer", () => {
    expect(anomalyTarget(runSummary(), anomaly)).toEqual({ step: 4, layer: "fc" });
    expect(anomalyTarget(runSummary(), { ...anomaly, step: 99, layer: "gone" })).toEqual({ step: 6, layer: null });
  });
  it("says where and what", () => {
    expect(describeAnomaly(anomaly)).toBe("first NaN/Inf at step 3 in fc (weights: 1 NaN; activations: 4 NaN, 2 Inf)");
  });
});
