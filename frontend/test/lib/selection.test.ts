import { describe, expect, it } from "vitest";
import { SelectionError, selectIndices, selectNames, selectValues, spread } from "../../src/lib/selection";

// The same cases as tensorboard_deepviz.server.params answers them.
describe("selectValues (steps)", () => {
  const steps = [0, 100, 200, 500, 900];
  it("selects all, a range with open ends, or a list", () => {
    expect(selectValues("", steps, "steps")).toEqual(steps);
    expect(selectValues("100:500", steps, "steps")).toEqual([100, 200, 500]);
    expect(selectValues(":100", steps, "steps")).toEqual([0, 100]);
    expect(selectValues("500:", steps, "steps")).toEqual([500, 900]);
    expect(selectValues("900,0,900", steps, "steps")).toEqual([900, 0]);
  });
  it("refuses values that are not available and non-integers", () => {
    expect(() => selectValues("0,3", steps, "steps")).toThrow(/steps 3 not available/);
    expect(() => selectValues("x", steps, "steps")).toThrow(SelectionError);
  });
});

describe("selectNames (layers)", () => {
  const layers = ["stem.0", "stage.0.conv1", "stage.0.conv2", "head.3", "head.5"];
  it("selects ranges by position and lists in the order given", () => {
    expect(selectNames("stage.0.conv1:head.3", layers, "layers")).toEqual(["stage.0.conv1", "stage.0.conv2", "head.3"]);
    expect(selectNames(":stage.0.conv1", layers, "layers")).toEqual(["stem.0", "stage.0.conv1"]);
    expect(selectNames("head.5, stem.0", layers, "layers")).toEqual(["head.5", "stem.0"]);
    expect(selectNames("", layers, "layers")).toEqual(layers);
  });
  it("names an unknown layer", () => {
    expect(() => selectNames("stem.0,fc9", layers, "layers")).toThrow(/unknown layers "fc9"/);
  });
});

describe("selectIndices (filters)", () => {
  it("selects ranges (clamped at the end), lists and all", () => {
    expect(selectIndices("0:3", 8, "filters", 4096)).toEqual([0, 1, 2, 3]);
    expect(selectIndices("6:20", 8, "filters", 4096)).toEqual([6, 7]);
    expect(selectIndices("5,1,5", 8, "filters", 4096)).toEqual([5, 1]);
    expect(selectIndices("", 3, "filters", 4096)).toEqual([0, 1, 2]);
  });
  it("refuses empty, negative and outside selections, and too many", () => {
    expect(() => selectIndices("5:2", 8, "filters", 4096)).toThrow(/empty or negative range/);
    expect(() => selectIndices("9:12", 8, "filters", 4096)).toThrow(/selects nothing/);
    expect(() => selectIndices("1,99", 8, "filters", 4096)).toThrow(/99 outside 0..7/);
    expect(() => selectIndices("0:9", 10, "filters", 4)).toThrow(/at most 4/);
  });
});

describe("spread", () => {
  it("keeps the ends and spaces the rest evenly", () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8], 3)).toEqual([0, 4, 8]);
    expect(spread([1, 2], 5)).toEqual([1, 2]);
  });
});
