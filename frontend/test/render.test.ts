// @vitest-environment happy-dom
// The whole page against a fake server: the DOM contract the end-to-end tests rely on, text
// from logs shown as text, and each view's status in words.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fakeFetch } from "./fake_server";

const fetchMock = vi.fn(fakeFetch());
const settle = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));
const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`) as HTMLElement;
const view = (name: string) => byTestId(`view-${name}`);

/** An Image that loads any URL at once (the page's sprites and crops), 10 x 10 pixels. */
class InstantImage {
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  decoding = "";
  naturalWidth = 10;
  naturalHeight = 10;
  private url = "";
  set src(url: string) {
    this.url = url;
    setTimeout(() => this.onload?.(), 0);
  }
  get src() {
    return this.url;
  }
  decode() {
    return Promise.resolve();
  }
}

beforeAll(async () => {
  vi.stubGlobal("fetch", fetchMock);
  vi.stubGlobal("Image", InstantImage);
  const { render } = await import("../src/main");
  render();
  await settle();
});

afterAll(() => {
  vi.unstubAllGlobals();
});

describe("render()", () => {
  it("builds the whole UI with the DOM contract's test ids", () => {
    for (const id of [
      "run-select",
      "timeline",
      "timeline-slider",
      "timeline-play",
      "timeline-rewind",
      "timeline-step-back",
      "timeline-step-forward",
      "timeline-speed",
      "timeline-step",
      "poll-toggle",
      "graph",
      "filters-sprite",
      "filters-norm",
      "filter-info",
      "corpus-search",
      "corpus-grid",
      "selected-image",
      "activations-sprite",
      "prediction-histogram",
      "confusion-matrix",
      "confusion-accuracy",
      "confusion-row-normalize",
      "confusion-delta",
      "confusion-examples",
      "clusters-scatter",
      "clusters-color-by",
      "compare-steps",
      "compare-layers",
      "compare-filters",
      "compare-image",
      "compare-run",
      "compare-grid",
      "dynamics-chart",
      "dynamics-stat",
      "dynamics-source",
      "dynamics-first-anomaly",
      "filters-unit-colours",
      "gradcam-toggle",
      "units-layer",
      "units-sort",
      "units-caveats",
      "units-matrix",
      "units-histogram",
      "units-history",
      "confusion-pair-units",
      "findings",
      "findings-summary",
      "findings-list",
      "timeline-findings",
    ]) {
      expect(byTestId(id), id).not.toBeNull();
    }
    for (const name of ["filters", "confusion", "clusters", "compare", "dynamics", "units"]) {
      expect(byTestId(`tab-${name}`).tagName).toBe("BUTTON");
      expect(view(name).querySelectorAll('[data-testid="status"]')).toHaveLength(1);
    }
    expect(byTestId("timeline-slider").getAttribute("type")).toBe("range");
    expect(byTestId("filters-sprite").tagName).toBe("IMG");
    expect(byTestId("activations-sprite").tagName).toBe("IMG");
    expect(byTestId("dynamics-chart").tagName.toLowerCase()).toBe("svg");
    expect(byTestId("clusters-scatter").tagName).toBe("CANVAS");
  });

  it("selects the first run at its latest checkpoint", () => {
    expect((byTestId("run-select") as HTMLSelectElement).value).toBe("<i>main</i>");
    expect(byTestId("timeline-step").textContent).toBe("6");
    expect((byTestId("timeline-slider") as HTMLInputElement).value).toBe("3");
    expect(byTestId("timeline-play").getAttribute("aria-pressed")).toBe("false");
    expect(byTestId("poll-toggle").getAttribute("aria-pressed")).toBe("true");
  });

  it("shows the run's findings at once, above the tabs, with badges on the graph and ticks on the timeline", () => {
    const panel = byTestId("findings");
    const tabBar = document.querySelector('[role="tablist"]') as HTMLElement;
    expect(panel.compareDocumentPosition(tabBar) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(panel.getAttribute("data-worst")).toBe("error");
    expect(byTestId("findings-list").hidden).toBe(false);
    const kinds = [...panel.querySelectorAll('[data-testid="finding"]')].map((row) => row.getAttribute("data-kind"));
    expect(kinds).toEqual(["nan_inf", "confused_classes", "dead_units", "frozen_layer"]);
    const badge = (layer: string) =>
      document.querySelector(`[data-testid="graph-node"][data-layer="${layer}"] [data-testid="graph-badge"]`);
    expect(badge("conv1")?.getAttribute("data-severity")).toBe("error");
    expect(badge("fc")?.getAttribute("data-severity")).toBe("warning");
    expect(document.querySelectorAll('[data-testid="timeline-finding"]')).toHaveLength(3);
  });

  it("shows only the active view and switches with the tabs", async () => {
    expect(view("filters").hidden).toBe(false);
    expect(view("confusion").hidden).toBe(true);
    byTestId("tab-confusion").click();
    await settle(300); // the hash is written at most every 250 ms
    expect(view("filters").hidden).toBe(true);
    expect(view("confusion").hidden).toBe(false);
    expect(window.location.hash).toContain("view=confusion");
  });

  it("draws the confusion matrix with class names as text", async () => {
    const cells = document.querySelectorAll('[data-testid="confusion-cell"]');
    expect(cells).toHaveLength(16);
    expect(cells[1].getAttribute("data-true")).toBe("0");
    expect(cells[1].getAttribute("data-pred")).toBe("1");
    expect(cells[1].textContent).toBe("2");
    expect(byTestId("confusion-accuracy").textContent).toContain("87.5%");
    const matrix = byTestId("confusion-matrix");
    expect(matrix.querySelector("b, img")).toBeNull(); // markup in class names stays text
    expect(matrix.textContent).toContain("<img src=x onerror=alert(1)>");
    (byTestId("confusion-row-normalize") as HTMLInputElement).click();
    await settle();
    expect(document.querySelectorAll('[data-testid="confusion-cell"]')[0].textContent).toBe("0.83");
  });

  it("shows a cell's images on hover and selects one on click", async () => {
    const cell = document.querySelector('[data-testid="confusion-cell"][data-true="2"][data-pred="2"]') as HTMLElement;
    cell.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    await settle();
    const examples = document.querySelectorAll('[data-testid="confusion-example"]');
    expect([...examples].map((e) => e.getAttribute("data-index"))).toEqual(["2", "6"]);
    (examples[1] as HTMLElement).click();
    await settle();
    expect(byTestId("selected-image").getAttribute("data-index")).toBe("6");
  });

  it("lists clusters and their images", async () => {
    byTestId("tab-clusters").click();
    await settle();
    expect(document.querySelectorAll('[data-testid="cluster-card"]')).toHaveLength(2);
    expect(
      [...document.querySelectorAll('[data-testid="cluster-image"]')].map((e) => e.getAttribute("data-index")),
    ).toEqual(["0", "2", "4", "1", "3"]);
    expect(view("clusters").querySelector('[data-testid="status"]')?.getAttribute("data-state")).toBe("ready");
  });

  it("draws the dynamics and jumps to the first anomaly", async () => {
    byTestId("tab-dynamics").click();
    await settle();
    const chart = byTestId("dynamics-chart");
    expect(chart.querySelectorAll("path.dv-line")).toHaveLength(2);
    expect(chart.querySelectorAll('[data-testid="dynamics-nan"]')).toHaveLength(1);
    expect(chart.querySelectorAll('[data-testid="dynamics-inf"]')).toHaveLength(1);
    const button = byTestId("dynamics-first-anomaly") as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    button.click();
    await settle();
    expect(byTestId("timeline-step").textContent).toBe("2");
    expect(document.querySelector('[data-testid="graph-node"].dv-selected')?.getAttribute("data-layer")).toBe("conv1");
  });

  it("builds the compare grid from the answer", async () => {
    byTestId("tab-compare").click();
    await settle();
    const cells = [...document.querySelectorAll('[data-testid="compare-cell"]')];
    expect(cells.map((c) => `${c.getAttribute("data-step")}/${c.getAttribute("data-layer")}`)).toEqual([
      "0/conv1",
      "0/fc",
      "2/conv1",
      "2/fc",
    ]);
  });

  it("steps with the buttons and the keyboard", async () => {
    byTestId("timeline-step-forward").click();
    expect(byTestId("timeline-step").textContent).toBe("4");
    byTestId("timeline-step-back").click();
    expect(byTestId("timeline-step").textContent).toBe("2");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(byTestId("timeline-step").textContent).toBe("4");
    byTestId("timeline-rewind").click();
    expect(byTestId("timeline-step").textContent).toBe("0");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: " ", code: "Space", bubbles: true }));
    expect(byTestId("timeline-play").getAttribute("aria-pressed")).toBe("true");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: " ", code: "Space", bubbles: true }));
    expect(byTestId("timeline-play").getAttribute("aria-pressed")).toBe("false");
  });

  it("selects a layer from the graph", async () => {
    (document.querySelector('[data-testid="graph-node"][data-layer="fc"]') as HTMLElement).click();
    await settle(300);
    expect(window.location.hash).toContain("layer=fc");
    expect(document.querySelector('[data-testid="graph-node"][aria-current="true"]')?.getAttribute("data-layer")).toBe(
      "fc",
    );
    byTestId("tab-filters").click();
    await settle();
    expect((byTestId("filters-layer") as HTMLSelectElement).value).toBe("fc");
  });

  it("hides the tab of a view whose records the run lacks, and keeps the choice for the next run", async () => {
    byTestId("tab-clusters").click();
    await settle();
    expect(view("clusters").hidden).toBe(false);
    const runs = byTestId("run-select") as HTMLSelectElement;
    runs.value = "second";
    runs.dispatchEvent(new Event("change"));
    await settle();
    expect(byTestId("tab-clusters").hidden).toBe(true);
    expect(view("clusters").hidden).toBe(true);
    expect(view("filters").hidden).toBe(false);
    expect(byTestId("tab-filters").getAttribute("aria-selected")).toBe("true");
    runs.value = "<i>main</i>";
    runs.dispatchEvent(new Event("change"));
    await settle();
    expect(byTestId("tab-clusters").hidden).toBe(false);
    expect(view("clusters").hidden).toBe(false);
  });

  it("opens a unit from the Units tab and from a filter, and keeps them in the link", async () => {
    byTestId("tab-units").click();
    await settle();
    expect(view("units").hidden).toBe(false);
    const layer = byTestId("units-layer") as HTMLSelectElement;
    layer.value = "conv1";
    layer.dispatchEvent(new Event("change"));
    await settle();
    (view("units").querySelector('[data-testid="units-cell"][data-unit="5"]') as HTMLElement).click();
    await settle(300);
    const panel = view("units").querySelector('[data-testid="unit-panel"]') as HTMLElement;
    expect(panel.getAttribute("data-unit")).toBe("5");
    expect(panel.querySelectorAll('[data-testid="unit-crop"]')).toHaveLength(9);
    expect(window.location.hash).toContain("unit=5");
    expect(window.location.hash).toContain("view=units");
    byTestId("tab-filters").click();
    await settle();
    const filtersPanel = view("filters").querySelector('[data-testid="unit-panel"]') as HTMLElement;
    expect(filtersPanel.hidden).toBe(false);
    expect(filtersPanel.getAttribute("data-unit")).toBe("5");
    (byTestId("filters-unit-colours") as HTMLInputElement).click();
    await settle(300);
    expect(window.location.hash).toContain("ucolour=1");
    expect(byTestId("unit-colours").querySelectorAll(".dv-unit-tint")).toHaveLength(8);
  });

  it("opens a finding's evidence in one click: its view, layer, step and selection", async () => {
    const rows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="finding"]')];
    (rows()[0].querySelector('[data-testid="finding-open"]') as HTMLElement).click();
    await settle(300);
    expect(view("dynamics").hidden).toBe(false);
    expect(byTestId("tab-dynamics").getAttribute("aria-selected")).toBe("true");
    expect(byTestId("timeline-step").textContent).toBe("2");
    expect(document.querySelector('[data-testid="graph-node"][aria-current="true"]')?.getAttribute("data-layer")).toBe(
      "conv1",
    );
    expect((byTestId("dynamics-stat") as HTMLSelectElement).value).toBe("nan_count");
    expect(window.location.hash).toContain("view=dynamics");
    expect(window.location.hash).toContain("stat=nan_count");
    (rows()[1].querySelector('[data-testid="finding-open"]') as HTMLElement).click();
    await settle(300);
    expect(view("confusion").hidden).toBe(false);
    expect(byTestId("timeline-step").textContent).toBe("6");
    const pinned = view("confusion").querySelector(".dv-cell-pinned");
    expect([pinned?.getAttribute("data-true"), pinned?.getAttribute("data-pred")]).toEqual(["0", "1"]);
    expect(byTestId("confusion-examples").textContent).toContain(
      "true <b>cat</b> → predicted <img src=x onerror=alert(1)>",
    );
    expect(window.location.hash).toContain("cell=0%2C1");
  });

  it("never puts markup from the logs into the page", () => {
    expect(document.body.querySelector("b, i, img:not([data-testid])")).toBeNull();
    expect(document.body.textContent).toContain("<b>cat</b>");
  });
});
