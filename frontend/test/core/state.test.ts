import { describe, expect, it } from "vitest";
import { count, flag, identifier, oneOf, pair, parts, text } from "../../src/core/codecs";
import { decodeHash, encodeHash, HASH_KEYS } from "../../src/core/hash";
import { initialState, STATE_FIELDS } from "../../src/core/state";
import { Store } from "../../src/core/store";

describe("STATE_FIELDS", () => {
  it("gives the store its defaults", () => {
    const state = new Store().get();
    for (const [key, spec] of Object.entries(STATE_FIELDS)) {
      expect(state[key as keyof typeof state], key).toEqual(spec.initial);
    }
    expect(Object.keys(state).sort()).toEqual(Object.keys(STATE_FIELDS).sort());
  });

  it("copies object defaults, so that two states share nothing", () => {
    const a = initialState();
    const b = initialState();
    expect(a.compare).toEqual(b.compare);
    expect(a.compare).not.toBe(b.compare);
    expect(a.runs).not.toBe(STATE_FIELDS.runs.initial);
  });

  it("decides which fields travel in the hash, in its order", () => {
    expect(HASH_KEYS).toEqual([
      "run",
      "layer",
      "step",
      "image",
      "filter",
      "unit",
      "cell",
      "view",
      "norm",
      "activationNorm",
      "rowNormalize",
      "delta",
      "colorBy",
      "stat",
      "source",
      "logScale",
      "unitColours",
      "unitsSort",
      "gradcam",
      "compare",
      "compareRuns",
      "filtersShow",
      "runB",
      "stepB",
      "unitB",
    ]);
  });

  it("uses one hash parameter name once", () => {
    const names = Object.values(STATE_FIELDS).flatMap((spec) => ("hash" in spec && spec.hash ? spec.hash.params : []));
    expect(new Set(names).size).toBe(names.length);
  });

  it("round-trips every linked field through the hash", () => {
    const state = {
      ...initialState(),
      run: "r",
      layer: "l",
      step: 3,
      image: 0,
      filter: 7,
      unit: 5,
      cell: [2, 0] as [number, number],
      view: "clusters",
      norm: "layer" as const,
      activationNorm: "layer" as const,
      rowNormalize: true,
      delta: true,
      colorBy: "cluster" as const,
      stat: "std" as const,
      source: "activations" as const,
      logScale: true,
      unitColours: true,
      unitsSort: "class" as const,
      gradcam: false,
      compare: { steps: "0:4", layers: "a,b", filters: "1", image: "#2", content: "feature_vis" },
      compareRuns: "other run,third",
      filtersShow: "feature_vis" as const,
      runB: "other run",
      stepB: 4,
      unitB: 7,
      playing: true, // per session: not in the hash
      speed: 20,
    };
    const decoded = decodeHash(encodeHash(state));
    for (const key of HASH_KEYS) expect(decoded[key], key).toEqual(state[key]);
    expect(decoded.playing).toBeUndefined();
    expect(decoded.speed).toBeUndefined();
  });
});

describe("A/B fields in the hash", () => {
  it("writes runb and stepb only when A/B is on; links without them keep A/B off", () => {
    const off = encodeHash({ ...initialState(), run: "r", step: 2 });
    expect(off).not.toContain("runb");
    expect(off).not.toContain("stepb");
    expect(decodeHash(off).runB).toBeUndefined();
    const follows = encodeHash({ ...initialState(), run: "r", step: 2, runB: "s" });
    expect(follows).toContain("runb=s");
    expect(follows).not.toContain("stepb");
    const fixed = decodeHash(encodeHash({ ...initialState(), run: "r", step: 2, runB: "r", stepB: 0 }));
    expect(fixed.runB).toBe("r");
    expect(fixed.stepB).toBe(0);
  });
});

describe("codecs", () => {
  const read = (codec: { read(params: URLSearchParams): unknown }, query: string) =>
    codec.read(new URLSearchParams(query));
  const written = (write: (params: URLSearchParams) => void) => {
    const params = new URLSearchParams();
    write(params);
    return params.toString();
  };

  it("reads what they write and refuse malformed values", () => {
    expect(read(text("run"), "run=a%20b")).toBe("a b");
    expect(read(text("run"), "run=")).toBeUndefined();
    expect(read(count("step"), "step=12")).toBe(12);
    expect(read(count("step"), "step=1.5")).toBeUndefined();
    expect(read(count("step"), "step=-1")).toBeUndefined();
    expect(read(oneOf("norm", ["a", "b"] as const), "norm=b")).toBe("b");
    expect(read(oneOf("norm", ["a", "b"] as const), "norm=c")).toBeUndefined();
    expect(read(identifier("view"), "view=units_2")).toBe("units_2");
    expect(read(identifier("view"), "view=<b>")).toBeUndefined();
    expect(read(flag("log"), "log=true")).toBe(true);
    expect(read(flag("log"), "log=0")).toBe(false);
    expect(read(flag("log"), "log=yes")).toBeUndefined();
    expect(written((p) => flag("log").write(true, p))).toBe("log=1");
    expect(read(pair("cell"), "cell=1,2")).toEqual([1, 2]);
    expect(read(pair("cell"), "cell=1%2C12")).toEqual([1, 12]);
    for (const bad of ["cell=1", "cell=1,2,3", "cell=-1,2", "cell=a,b", "cell=1.5,2", "cell=", "other=1,2"])
      expect(read(pair("cell"), bad), bad).toBeUndefined();
    expect(written((p) => pair("cell").write([3, 0], p))).toBe("cell=3%2C0");
  });

  it("write a record of texts as one parameter per non-empty part", () => {
    const codec = parts<{ a: string; b: string }>({ a: "xa", b: "xb" });
    expect(written((p) => codec.write({ a: "1", b: "" }, p))).toBe("xa=1");
    expect(read(codec, "xb=2")).toEqual({ a: "", b: "2" });
    expect(read(codec, "other=1")).toBeUndefined();
  });
});
