// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Finding, GraphResponse, RunSummary } from "../../src/api/types";
import { GraphView } from "../../src/views/graph/view";
import { allByTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer } from "../fake_server";
import resnet50 from "../fixtures/resnet50_graph.json";
import { runSummary } from "../helpers";

const GRAPH = resnet50 as GraphResponse;
const RUN = "resnet50";

/** The listing of a ResNet-50 run: every Conv2d and Linear logged, as the fixture marks them. */
const RESNET_RUN: RunSummary = runSummary({
  run: RUN,
  layers: GRAPH.nodes
    .filter((node) => node.logged)
    .map((node) => ({
      ...FAKE_RUN.layers[0],
      name: node.module,
      kind: node.type,
      output_shape: node.output_shape,
      parameter_shapes: node.parameter_shapes ?? {},
    })),
});

function finding(layer: string, severity: Finding["severity"], kind = "dead_units"): Finding {
  return {
    kind,
    severity,
    layer,
    step: 2,
    last_step: 6,
    message: `${layer}: ${kind}`,
    evidence: {},
    link: `#run=${RUN}&layer=${layer}`,
  };
}

async function open(layer: string | null = "conv1") {
  const { ctx, store } = testContext({ runs: [RESNET_RUN], run: RUN, layer }, (url) =>
    url.startsWith("graph?") ? GRAPH : fakeServer(url),
  );
  const root = place();
  new GraphView(ctx, root).setActive(true);
  await settle();
  const fold = (name: string) =>
    root.querySelector<HTMLElement>(`[data-testid="graph-fold"][data-fold="${name}"]`) as HTMLElement;
  const node = (layer: string) =>
    root.querySelector<HTMLElement>(`[data-testid="graph-node"][data-layer="${layer}"]`) as HTMLElement;
  /** A row is on screen when no body around it is hidden. */
  const shown = (element: Element) => {
    for (let at: Element | null = element; at && at !== root; at = at.parentElement)
      if ((at as HTMLElement).hidden) return false;
    return true;
  };
  const badge = (element: Element) => element.querySelector<HTMLElement>(':scope > [data-testid="graph-badge"]');
  return { store, root, fold, node, shown, badge };
}

describe("Network graph: folded runs of identical blocks", () => {
  it("opens a ResNet-50 with each stage's identical blocks folded", async () => {
    const { root, fold, node, shown } = await open();
    const folds = allByTestId(root, "graph-fold");
    expect(folds.map((head) => head.textContent)).toEqual([
      "▸layer1.1–2 ×2Bottleneck · 6 logged",
      "▸layer2.1–3 ×3Bottleneck · 9 logged",
      "▸layer3.1–5 ×5Bottleneck · 15 logged",
      "▸layer4.1–2 ×2Bottleneck · 6 logged",
    ]);
    const layer3 = fold("layer3.1…layer3.5");
    expect(layer3.getAttribute("aria-expanded")).toBe("false");
    expect(layer3.tagName).toBe("BUTTON"); // reachable and pressed with the keyboard
    expect(layer3.title).toContain("layer3.1, layer3.2, layer3.3, layer3.4, layer3.5: 5 structurally identical");
    expect(shown(node("layer3.3.conv2"))).toBe(false);
    expect(shown(node("conv1"))).toBe(true);
    // Folded by default: of 171 layer rows, the stem and head show, and the blocks as heads.
    const rows = allByTestId(root, "graph-node").filter(shown);
    expect(rows.map((row) => row.getAttribute("data-layer"))).toEqual([
      "conv1",
      "bn1",
      "relu",
      "maxpool",
      "pool",
      "flatten",
      "fc",
    ]);
    const heads = [...allByTestId(root, "graph-group"), ...folds].filter(shown);
    expect(heads).toHaveLength(4 + 4 + 4); // stages, their first blocks, their folds
    expect(root.querySelector('[data-testid="graph-status"]')?.textContent).toContain(
      "4 runs of identical modules folded",
    );
  });

  it("expands a fold on click, keeps the keyboard on it, and folds it again", async () => {
    const { root, fold, node, shown } = await open();
    fold("layer3.1…layer3.5").click();
    const open3 = fold("layer3.1…layer3.5");
    expect(open3.getAttribute("aria-expanded")).toBe("true");
    expect(document.activeElement).toBe(open3);
    const members = [1, 2, 3, 4, 5].map((i) =>
      root.querySelector<HTMLElement>(`[data-testid="graph-group"][data-group="layer3.${i}"]`),
    );
    expect(members.every((member) => member !== null && shown(member))).toBe(true);
    // The blocks themselves stay folded in a graph this large; one opens on its own.
    expect(shown(node("layer3.3.conv2"))).toBe(false);
    members[2]?.click();
    expect(shown(node("layer3.3.conv2"))).toBe(true);
    fold("layer3.1…layer3.5").click();
    expect(fold("layer3.1…layer3.5").getAttribute("aria-expanded")).toBe("false");
    expect(document.activeElement).toBe(fold("layer3.1…layer3.5"));
    expect(shown(node("layer3.3.conv2"))).toBe(false);
  });

  it("carries the worst finding inside a folded run, and hands it to the layer once open", async () => {
    const { store, root, fold, node, badge } = await open();
    store.set({
      findings: {
        run: RUN,
        findings: [
          finding("layer3.3.conv2", "error"),
          finding("layer3.5.conv1", "warning", "frozen_layer"),
          finding("layer2.0.conv1", "warning"),
        ],
      },
    });
    const head = fold("layer3.1…layer3.5");
    expect(badge(head)?.getAttribute("data-severity")).toBe("error");
    expect(badge(head)?.title).toContain("2 findings inside");
    expect(badge(head)?.title).toContain("layer3.5.conv1: frozen_layer");
    expect(badge(fold("layer2.1…layer2.3"))).toBeNull(); // layer2.0 is not in the fold
    expect(badge(fold("layer1.1…layer1.2"))).toBeNull();
    // Open it: the fold's badge goes to the block heads, then to the layer itself.
    head.click();
    expect(badge(fold("layer3.1…layer3.5"))).toBeNull();
    const block = root.querySelector<HTMLElement>('[data-testid="graph-group"][data-group="layer3.3"]');
    expect(block && badge(block)?.getAttribute("data-severity")).toBe("error");
    block?.click();
    expect(badge(node("layer3.3.conv2"))?.getAttribute("data-severity")).toBe("error");
    // Without the error, the worst inside the refolded run is the warning.
    fold("layer3.1…layer3.5").click();
    store.set({ findings: { run: RUN, findings: [finding("layer3.5.conv1", "warning", "frozen_layer")] } });
    expect(badge(fold("layer3.1…layer3.5"))?.getAttribute("data-severity")).toBe("warning");
  });

  it("unfolds the path to a layer selected inside a fold, and lets the user fold it again", async () => {
    const { store, fold, node, shown } = await open();
    store.set({ layer: "layer3.4.conv3" }); // a finding's link, another view's layer picker
    expect(fold("layer3.1…layer3.5").getAttribute("aria-expanded")).toBe("true");
    expect(shown(node("layer3.4.conv3"))).toBe(true);
    expect(node("layer3.4.conv3").getAttribute("aria-current")).toBe("true");
    expect(fold("layer2.1…layer2.3").getAttribute("aria-expanded")).toBe("false");
    // Folded again over the selection: the head says it holds the selected layer.
    fold("layer3.1…layer3.5").click();
    expect(fold("layer3.1…layer3.5").getAttribute("aria-expanded")).toBe("false");
    expect(fold("layer3.1…layer3.5").classList.contains("dv-holds-selected")).toBe(true);
    expect(store.get().layer).toBe("layer3.4.conv3");
  });

  it("opens a layer named by the address inside a fold when the graph loads", async () => {
    const { fold, node, shown } = await open("layer4.2.conv1");
    expect(fold("layer4.1…layer4.2").getAttribute("aria-expanded")).toBe("true");
    expect(shown(node("layer4.2.conv1"))).toBe(true);
    expect(node("layer4.2.conv1").classList.contains("dv-selected")).toBe(true);
    expect(fold("layer3.1…layer3.5").getAttribute("aria-expanded")).toBe("false");
  });
});
