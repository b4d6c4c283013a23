// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Side } from "../../src/core/derived";
import { SelectedImage } from "../../src/panels/selected_image";
import { byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN } from "../fake_server";
import { runSummary } from "../helpers";

async function panel(state = {}, side?: Side) {
  const { ctx, store, fetch } = testContext(state);
  const container = place();
  const selected = new SelectedImage(container, ctx, { side });
  selected.setActive(true);
  await settle();
  return { container, selected, store, fetch, element: byTestId(container, "selected-image") };
}

const facts = (element: HTMLElement) =>
  [...element.querySelectorAll("dt")].map((dt) => `${dt.textContent}: ${dt.nextElementSibling?.textContent}`);

describe("SelectedImage", () => {
  it("asks for an image when none is selected", async () => {
    const { element, container } = await panel();
    expect(element.textContent).toBe("No image selected: pick one below or among the probe images.");
    expect(element.hasAttribute("data-index")).toBe(false);
    expect(byTestId(container, "prediction-histogram").childElementCount).toBe(0);
  });

  it("shows the image's facts and predicted class probabilities, names as text", async () => {
    const { element, container, store } = await panel();
    store.set({ image: 1 });
    await settle();
    expect(element.getAttribute("data-index")).toBe("1");
    expect(facts(element)).toEqual([
      "image: #1",
      "label: <img src=x onerror=alert(1)>",
      "predicted at 6: <img src=x onerror=alert(1)> (50.0%) ✓",
    ]);
    expect(element.querySelector("img")).toBeNull();
    const rows = [...byTestId(container, "prediction-histogram").querySelectorAll(".dv-bar-row")];
    expect(rows.map((row) => row.className)).toEqual([
      "dv-bar-row",
      "dv-bar-row dv-predicted dv-true",
      "dv-bar-row",
      "dv-bar-row",
    ]);
    element.querySelector("button")?.click();
    expect(store.get().image).toBeNull();
  });

  it("says when the checkpoint has no predictions", async () => {
    const run = runSummary({ ...FAKE_RUN, steps_by_kind: { ...FAKE_RUN.steps_by_kind, predictions: [0] } });
    const { container } = await panel({ runs: [run], image: 2 });
    expect(byTestId(container, "prediction-histogram").textContent).toBe("No predictions were logged at this step.");
  });

  it("names the selected image at once, also while hidden", async () => {
    const { element, selected, store, fetch } = await panel();
    selected.setActive(false);
    const before = fetched(fetch).length;
    store.set({ image: 9 });
    expect(element.getAttribute("data-index")).toBe("9");
    await settle();
    expect(fetched(fetch)).toHaveLength(before);
  });

  it("shows the run and checkpoint of the side it is given", async () => {
    const second = runSummary({ ...FAKE_RUN, run: "second" });
    const side: Side = {
      run: (s) => s.runs.find((r) => r.run === "second") ?? null,
      step: () => 2,
      runKeys: ["runs"],
      stepKeys: [],
    };
    const { element, fetch } = await panel({ runs: [FAKE_RUN, second], image: 1 }, side);
    expect(fetched(fetch)).toContain("predictions?run=second&step=2&image=1");
    expect(facts(element)).toContain("predicted at 2: <img src=x onerror=alert(1)> (50.0%) ✓");
  });
});
