// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { attributionLayer } from "../../src/panels/gradcam";
import { SelectedImage } from "../../src/panels/selected_image";
import { byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, GRADCAM_MAX, NAMES } from "../fake_server";
import { runSummary } from "../helpers";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function selected(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ image: 1, ...state });
  const container = place();
  const panel = new SelectedImage(container, ctx, { gradcam: true });
  panel.setActive(true);
  await settle();
  return {
    ctx,
    store,
    fetch,
    panel,
    overlay: byTestId(container, "gradcam-overlay") as HTMLCanvasElement,
    caption: byTestId(container, "gradcam-caption"),
    toggle: byTestId(container, "gradcam-toggle") as HTMLInputElement,
    controls: byTestId(container, "gradcam"),
  };
}

describe("Grad-CAM on the selected image", () => {
  it("lies over the probe image's thumbnail at the layer's resolution, on the route's scale", async () => {
    const { overlay, caption, fetch, controls } = await selected();
    expect(fetched(fetch)).toContain(`attribution?run=${RUN}&image=1&step=6&layer=conv1`);
    expect(controls.hidden).toBe(false);
    expect(overlay.hidden).toBe(false);
    expect(overlay.parentElement?.firstElementChild?.tagName).toBe("CANVAS"); // the thumbnail, under it
    expect([overlay.width, overlay.height]).toEqual([4, 4]);
    expect(overlay.getAttribute("data-step")).toBe("6");
    expect(overlay.getAttribute("data-scale")).toBe(String(GRADCAM_MAX));
    expect(overlay.getAttribute("data-layer")).toBe("conv1");
    expect(overlay.getAttribute("data-target")).toBe("1");
    expect(caption.textContent).toBe(
      `at conv1 for class ${NAMES[1]} (predicted) · step 6 · scale 0–2 over all checkpoints`,
    );
    expect(caption.querySelector("img")).toBeNull();
  });

  it("follows the timeline with the same scale, and prefetches the next checkpoints' maps", async () => {
    const { overlay, store, fetch, ctx } = await selected({ step: 0 });
    expect(Number(overlay.getAttribute("data-max"))).toBeCloseTo(GRADCAM_MAX / 7);
    store.set({ step: 4 });
    await settle();
    expect(fetched(fetch)).toContain(`attribution?run=${RUN}&image=1&step=4&layer=conv1`);
    expect(overlay.getAttribute("data-step")).toBe("4");
    expect(Number(overlay.getAttribute("data-max"))).toBeCloseTo((GRADCAM_MAX * 5) / 7);
    expect(overlay.getAttribute("data-scale")).toBe(String(GRADCAM_MAX));
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 2, 1).map((item) => item.url)).toContain(
      `attribution?run=${RUN}&image=1&step=6&layer=conv1`,
    );
  });

  it("turns off with its toggle, and says why there is no map", async () => {
    const { overlay, caption, toggle, store, fetch } = await selected();
    toggle.click();
    expect(store.get().gradcam).toBe(false);
    await settle();
    expect(overlay.hidden).toBe(true);
    expect(caption.textContent).toBe("off");
    store.set({ gradcam: true, image: 9 });
    await settle();
    expect(overlay.hidden).toBe(true);
    expect(caption.textContent).toBe("Grad-CAM is logged for probe images only.");
    expect(fetched(fetch).some((url) => url.startsWith("attribution?") && url.includes("image=9"))).toBe(false);
  });

  it("asks for the selected layer's map when it has one, else the run's default layer", () => {
    const run = runSummary();
    expect(attributionLayer(run, "conv1")).toBe("conv1");
    expect(attributionLayer(run, "fc")).toBeNull();
  });

  it("hides for a run without Grad-CAM records", async () => {
    const run = runSummary({ ...FAKE_RUN, kinds: FAKE_RUN.kinds.filter((kind) => kind !== "attribution") });
    const { controls, overlay } = await selected({ runs: [run] });
    expect(controls.hidden).toBe(true);
    expect(overlay.hidden).toBe(true);
  });
});
