// @vitest-environment happy-dom
// A deep model's log under the writer's byte budget: the filter bank says which filters were
// kept, the activations panel says how to log a layer that has none.
import { describe, expect, it } from "vitest";
import { ActivationsPanel } from "../../src/panels/activations";
import { FilterBank } from "../../src/panels/filter_bank";
import { h, Status } from "../../src/ui/dom";
import { byTestId, place, settle, testContext } from "../context";
import { runSummary } from "../helpers";

// The fake server's filter layout draws 8 filters; here the layer has 64, as a budgeted log keeps them.
function deepRun() {
  const run = runSummary();
  run.layers = run.layers.map((layer) =>
    layer.name === "conv1"
      ? { ...layer, parameter_shapes: { weight: [64, 3, 3, 3] } }
      : layer.name === "fc"
        ? { ...layer, has_activations: false }
        : layer,
  );
  return run;
}

describe("messages on a budgeted log", () => {
  it("the filter bank names the filters kept of a layer's", async () => {
    const run = deepRun();
    const { ctx } = testContext({ runs: [run], run: run.run });
    const status = new Status();
    const bank = new FilterBank(place(), ctx, { status, info: h("div") });
    bank.setActive(true);
    await settle();
    expect(status.element.textContent).toContain("filters 0–7 of 64 kept (a larger checkpoint_bytes logs more)");
  });

  it("a whole layer says nothing of kept filters", async () => {
    const { ctx } = testContext();
    const status = new Status();
    const bank = new FilterBank(place(), ctx, { status, info: h("div") });
    bank.setActive(true);
    await settle();
    expect(status.element.textContent).not.toContain("kept");
  });

  it("the activations panel says a layer's activations were not logged and how to log them", async () => {
    const run = deepRun();
    const { ctx } = testContext({ runs: [run], run: run.run, layer: "fc", image: 2 });
    const container = place();
    const panel = new ActivationsPanel(container, ctx);
    panel.setActive(true);
    await settle();
    expect(byTestId(container, "activations-status").textContent).toBe(
      "Activations not logged for layer fc: add it to activation_layers (DeepViz(..., activation_layers=[...])) to log them.",
    );
  });
});
