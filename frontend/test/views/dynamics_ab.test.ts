// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { DynamicsResponse, JsonNumber } from "../../src/api/types";
import type { State } from "../../src/core/state";
import { overlayLayers, overlaySeries, valueNear } from "../../src/views/dynamics/ab";
import { DynamicsView, markersOfB } from "../../src/views/dynamics/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, SECOND_RUN } from "../fake_server";

const series = (steps: number[], values: JsonNumber[]) => ({
  steps,
  values,
  nan_steps: [],
  inf_steps: [],
  total_steps: steps.length,
});

const A: DynamicsResponse = {
  stat: "norm",
  source: "weights",
  series: { conv1: series([0, 2], [1, 2]), fc: series([0, 2], [0.5, 0.6]) },
  first_anomaly: null,
};
const B: DynamicsResponse = {
  stat: "norm",
  source: "weights",
  series: { extra: series([0], [9]), fc: series([0, 2, 4], [5, 6, "NaN"]) },
  first_anomaly: null,
};

describe("training dynamics A/B overlay (pure)", () => {
  it("gives a layer one colour on both sides, B's lines dashed, A's solid", () => {
    expect(overlayLayers(A, B)).toEqual(["conv1", "fc", "extra"]);
    const lines = overlaySeries(A, B, "fc");
    expect(lines.map((line) => [line.attrs?.["data-side"], line.attrs?.["data-layer"], Boolean(line.dashed)])).toEqual([
      ["a", "conv1", false],
      ["a", "fc", false],
      ["b", "extra", true],
      ["b", "fc", true],
    ]);
    const colour = (side: string, layer: string) =>
      lines.find((line) => line.attrs?.["data-side"] === side && line.attrs?.["data-layer"] === layer)?.colour;
    expect(colour("b", "fc")).toBe(colour("a", "fc"));
    expect(colour("b", "extra")).not.toBe(colour("a", "conv1"));
    expect(lines.filter((line) => line.selected).map((line) => line.attrs?.["data-side"])).toEqual(["a", "b"]);
    expect(lines[3].name).toBe("B: fc");
    expect(Number.isNaN(lines[3].points[2][1])).toBe(true);
  });

  it("names lines by layer alone without B", () => {
    const lines = overlaySeries(A, null, null);
    expect(lines.map((line) => line.name)).toEqual(["conv1", "fc"]);
    expect(lines.some((line) => line.dashed)).toBe(false);
  });

  it("reads the value at the nearest logged step", () => {
    expect(valueNear(B, "fc", 3.2)).toEqual({ step: 4, value: Number.NaN });
    expect(valueNear(B, "fc", 0.9)).toEqual({ step: 0, value: 5 });
    expect(valueNear(B, "conv1", 1)).toBeNull();
  });
});

function answer(url: string): unknown {
  if (url.startsWith("dynamics")) {
    const run = new URLSearchParams(url.split("?")[1]).get("run");
    return run === SECOND_RUN.run ? B : A;
  }
  return fakeServer(url);
}

async function dynamics(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext(
    { view: "dynamics", runs: [FAKE_RUN, SECOND_RUN], layer: "fc", ...state },
    answer,
  );
  const root = place();
  const view = new DynamicsView(ctx, root);
  view.setActive(true);
  await settle();
  const paths = (side: string) => [
    ...root.querySelectorAll<SVGPathElement>(`[data-testid="dynamics-chart"] path[data-side="${side}"]`),
  ];
  return { ctx, store, fetch, root, view, paths };
}

describe("training dynamics view: A/B mode", () => {
  it("draws A alone, solid, while A/B is off", async () => {
    const { root, paths } = await dynamics();
    expect(paths("a").length).toBe(2);
    expect(paths("b")).toEqual([]);
    expect(paths("a").every((path) => path.getAttribute("stroke-dasharray") === null)).toBe(true);
    expect(allByTestId(root, "dynamics-ab-key")).toEqual([]);
  });

  it("turning A/B on overlays another run, dashed, in the same colours, with a key", async () => {
    const { root, store, paths } = await dynamics();
    const toggle = byTestId(root, "dynamics-ab-toggle") as HTMLInputElement;
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    expect(store.get().runB).toBe(SECOND_RUN.run);
    await settle();
    expect(paths("b").map((path) => path.getAttribute("data-layer"))).toEqual(["extra", "fc"]);
    expect(paths("b").every((path) => path.getAttribute("stroke-dasharray") === "6 4")).toBe(true);
    const stroke = (side: string, layer: string) =>
      paths(side)
        .find((path) => path.getAttribute("data-layer") === layer)
        ?.getAttribute("stroke");
    expect(stroke("b", "fc")).toBe(stroke("a", "fc"));
    const key = byTestId(root, "dynamics-ab-key").textContent;
    expect(key).toContain(`A: ${FAKE_RUN.run} (solid)`);
    expect(key).toContain(`B: ${SECOND_RUN.run} (dashed)`);
    // one legend entry per layer, B's extra layer among them
    expect(
      [...root.querySelectorAll(".dv-legend-item[data-layer]")].map((item) => item.getAttribute("data-layer")),
    ).toEqual(["conv1", "fc", "extra"]);
  });

  it("says so when B is A's run, and draws A alone", async () => {
    const { root, paths } = await dynamics({ runB: FAKE_RUN.run });
    expect(paths("b")).toEqual([]);
    const status = byTestId(root, "dynamics-ab-status");
    expect(status.hidden).toBe(false);
    expect(status.textContent).toContain("choose another run");
    expect((byTestId(root, "dynamics-ab-run") as HTMLSelectElement).value).toBe(FAKE_RUN.run);
  });

  it("shares one value axis: B's larger values widen A's scale", async () => {
    const off = await dynamics();
    const on = await dynamics({ runB: SECOND_RUN.run });
    // the value axis is the chart's second group (the step axis the first)
    const top = (root: HTMLElement) => {
      const ticks = [...root.querySelectorAll('[data-testid="dynamics-chart"] > g:nth-of-type(2) .tick text')].map(
        (tick) => Number(tick.textContent),
      );
      return Math.max(...ticks.filter(Number.isFinite));
    };
    expect(top(off.root)).toBeLessThan(3);
    expect(top(on.root)).toBeGreaterThan(5); // B reaches 9
  });
});

describe("training dynamics A/B: B's NaN/Inf marks", () => {
  it("are hollow copies in the same rows, named as B's", () => {
    const data: DynamicsResponse = {
      ...B,
      series: { fc: { ...series([0, 2, 4], [5, 6, "NaN"]), nan_steps: [4], inf_steps: [] } },
    };
    const [mark] = markersOfB(data);
    expect(mark).toMatchObject({ x: 4, row: 0, className: "dv-nan dv-marker-b", testid: "dynamics-nan-b" });
    expect(mark.title).toBe("B: NaN at step 4 in fc");
  });
});
