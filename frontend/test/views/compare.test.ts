import { describe, expect, it } from "vitest";
import { defaultCompare, resolveCompare } from "../../src/views/compare/resolve";
import { runSummary } from "../helpers";

describe("compare", () => {
  const run = runSummary();
  it("resolves a request to what the server will answer", () => {
    expect(resolveCompare(run, { steps: "0:4", layers: "conv1:fc", filters: " 0:3 ", image: "" }, null)).toEqual({
      steps: [0, 2, 4],
      layers: ["conv1", "fc"], // bn1 has no weights
      filters: "0:3",
      image: null,
    });
    expect(resolveCompare(run, { steps: "", layers: "bn1", filters: "1, 2", image: "#3" }, new Set([3, 9]))).toEqual({
      steps: [0, 2, 4, 6],
      layers: ["bn1"],
      filters: "",
      image: 3,
    });
  });
  it("explains what is wrong before any request", () => {
    expect(() => resolveCompare(run, { steps: "3", layers: "", filters: "", image: "" }, null)).toThrow(
      /steps 3 not available/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "bn1", filters: "", image: "" }, null)).toThrow(
      /unknown layers "bn1"/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "", filters: "5", image: "" }, null)).toThrow(
      /filters 5 outside 0..3/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "", filters: "", image: "4" }, new Set([0, 1]))).toThrow(
      /not a probe image/,
    );
    const many = runSummary({ checkpoints: Array.from({ length: 300 }, (_, i) => i) });
    expect(() => resolveCompare(many, { steps: "", layers: "", filters: "", image: "" }, null)).toThrow(
      /600 cells; at most 400/,
    );
  });
  it("starts from a few checkpoints and the first layers", () => {
    expect(defaultCompare(runSummary({ checkpoints: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }))).toEqual({
      steps: "0,2,4,6,8,10",
      layers: "conv1:fc",
      filters: "",
      image: "",
    });
  });
});
