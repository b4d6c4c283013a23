// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { ActivationsPanel } from "../../src/panels/activations";
import { byTestId, place, settle, testContext } from "../context";

async function panel(state = {}) {
  const { ctx, store } = testContext(state);
  const container = place();
  const activations = new ActivationsPanel(container, ctx);
  activations.setActive(true);
  await settle();
  const status = () => byTestId(container, "activations-status").textContent;
  const sprite = byTestId(container, "activations-sprite") as HTMLImageElement;
  return { container, store, status, sprite, activations };
}

describe("ActivationsPanel", () => {
  it("asks for a probe image, and explains that others have no activations", async () => {
    const { store, status } = await panel();
    expect(status()).toBe("Select a probe image to see its activations at this layer.");
    store.set({ image: 7 });
    await settle();
    expect(status()).toBe(
      "Activations are logged for probe images only; image #7 is not one. Probe images: #0, #1, #2, #3.",
    );
  });

  it("shows a probe image's activations at the layer and checkpoint, in the chosen colour scale", async () => {
    const { container, store, status, sprite } = await panel({ image: 2 });
    expect(new URL(sprite.src, "http://x/").search).toBe(
      "?run=%3Ci%3Emain%3C%2Fi%3E&layer=conv1&step=6&image=2&norm=channel",
    );
    expect(status()).toBe("image #2 at conv1 (8×16×16) · step 6 · colour scale per channel");
    const menu = byTestId(container, "activations-norm") as HTMLSelectElement;
    menu.value = "layer";
    menu.dispatchEvent(new Event("change"));
    expect(store.get().activationNorm).toBe("layer");
    await settle();
    expect(new URL(sprite.src, "http://x/").searchParams.get("norm")).toBe("layer");
    store.set({ layer: "fc", step: 3 });
    await settle();
    expect(status()).toBe("No activations were logged at step 3.");
    expect(sprite.hidden).toBe(true);
  });
});
