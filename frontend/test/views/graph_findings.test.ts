// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { GraphResponse } from "../../src/api/types";
import { GraphView } from "../../src/views/graph/view";
import { allByTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeFindings, fakeServer } from "../fake_server";

const RUN = FAKE_RUN.run;

/** conv1 and bn1 inside a block, fc after it. */
const NESTED: GraphResponse = {
  nodes: [
    { id: "input", module: "", type: "Input", output_shape: [1, 3, 16, 16] },
    { id: "block.conv1", module: "conv1", type: "Conv2d", output_shape: [1, 8, 16, 16], logged: true },
    { id: "block.bn1", module: "bn1", type: "BatchNorm2d", output_shape: [1, 8, 16, 16], logged: true },
    { id: "fc", module: "fc", type: "Linear", output_shape: [1, 4], logged: true },
    { id: "output", module: "", type: "Output", output_shape: [1, 4] },
  ],
  edges: [],
  modules: [
    { name: "block", type: "Sequential", parent: "" },
    { name: "conv1", type: "Conv2d", parent: "block" },
    { name: "bn1", type: "BatchNorm2d", parent: "block" },
    { name: "fc", type: "Linear", parent: "" },
  ],
};

async function graph(answer: (url: string) => unknown = fakeServer) {
  const { ctx, store } = testContext({ layer: "fc" }, answer);
  const root = place();
  new GraphView(ctx, root).setActive(true);
  await settle();
  const node = (layer: string) =>
    root.querySelector<HTMLElement>(`[data-testid="graph-node"][data-layer="${layer}"]`) as HTMLElement;
  const badge = (element: Element) => element.querySelector<HTMLElement>('[data-testid="graph-badge"]');
  return { store, root, node, badge };
}

describe("Network graph: findings", () => {
  it("puts the worst finding of each layer on its node, with every message in the title", async () => {
    const { store, root, node, badge } = await graph();
    expect(allByTestId(root, "graph-badge")).toHaveLength(0);
    store.set({ findings: fakeFindings(RUN) });
    const conv1 = badge(node("conv1"));
    expect(conv1?.getAttribute("data-severity")).toBe("error");
    expect(conv1?.classList.contains("dv-sev-error")).toBe(true);
    expect(conv1?.title).toBe(
      "error (steps 2–6): conv1: its weights first held NaN or Inf at step 2, before any other layer's",
    );
    expect(badge(node("fc"))?.getAttribute("data-severity")).toBe("warning");
    expect(badge(node("bn1"))?.getAttribute("data-severity")).toBe("info");
    expect(allByTestId(root, "graph-badge")).toHaveLength(3); // the confused classes name no layer
    // Worst of two on one layer; the name and type of the node stay as they were.
    const [nan, , dead] = fakeFindings(RUN).findings;
    store.set({ findings: { run: RUN, findings: [dead, { ...nan, layer: "fc" }] } });
    expect(badge(node("fc"))?.getAttribute("data-severity")).toBe("error");
    expect(badge(node("fc"))?.title.split("\n")).toHaveLength(2);
    expect(badge(node("conv1"))).toBeNull();
    expect(node("fc").querySelector(".dv-graph-name")?.textContent).toBe("fc");
    // Another run's findings are not this run's.
    store.set({ findings: { run: "other", findings: [nan] } });
    expect(allByTestId(root, "graph-badge")).toHaveLength(0);
  });

  it("gives a folded group the worst finding inside it", async () => {
    const { store, root, node, badge } = await graph((url) => (url.startsWith("graph?") ? NESTED : fakeServer(url)));
    store.set({ findings: fakeFindings(RUN) });
    const head = root.querySelector<HTMLElement>('[data-testid="graph-group"][data-group="block"]') as HTMLElement;
    expect(head.getAttribute("aria-expanded")).toBe("true");
    expect(badge(head)).toBeNull(); // open: its layers show their own
    expect(badge(node("conv1"))?.getAttribute("data-severity")).toBe("error");
    head.click(); // fold it
    const folded = root.querySelector<HTMLElement>('[data-testid="graph-group"][data-group="block"]') as HTMLElement;
    expect(folded.getAttribute("aria-expanded")).toBe("false");
    const groupBadge = badge(folded);
    expect(groupBadge?.getAttribute("data-severity")).toBe("error");
    expect(groupBadge?.title).toContain("2 findings inside");
    expect(groupBadge?.title).toContain("bn1: its weights did not change");
    // Without the error, the worst inside is the information about bn1.
    store.set({ findings: { run: RUN, findings: fakeFindings(RUN).findings.slice(1) } });
    expect(badge(folded)?.getAttribute("data-severity")).toBe("info");
    expect(badge(node("fc"))?.getAttribute("data-severity")).toBe("warning");
  });
});
