// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { LineChart } from "../../src/charts/line_chart";
import { h } from "../../src/ui/dom";

function chart(settings = {}) {
  const container = h("div");
  const onClick = vi.fn();
  const onMove = vi.fn();
  const lines = new LineChart(container, { testid: "chart", width: () => 600, onClick, onMove, ...settings });
  return { container, lines, onClick, onMove };
}

const data = {
  series: [
    {
      name: "<b>conv1</b>",
      points: [
        [0, 1],
        [2, Number.NaN],
        [4, 3],
      ] as [number, number][],
      colour: "red",
    },
    {
      name: "fc",
      points: [[0, 0.5]] as [number, number][],
      colour: "blue",
      selected: true,
      attrs: { "data-layer": "fc" },
    },
  ],
  markers: [
    {
      x: 2,
      row: 0,
      shape: "triangle" as const,
      className: "dv-nan",
      testid: "nan-mark",
      title: "NaN at 2 in <b>conv1</b>",
    },
  ],
  xExtent: [0, 10],
  rule: 4,
  title: "L2 norm of weights",
  xLabel: "step",
  ariaLabel: "L2 norm for 2 layers",
};

describe("LineChart", () => {
  it("draws a line per series, markers, the rule and the labels into its container", () => {
    const { container, lines } = chart();
    expect(lines.draw(data)).toBe(true);
    const svg = container.querySelector('svg[data-testid="chart"]') as SVGSVGElement;
    expect(svg).toBe(lines.element);
    expect(svg.getAttribute("viewBox")).toBe("0 0 600 360");
    const paths = [...svg.querySelectorAll("path.dv-line")];
    expect(paths.map((path) => path.querySelector("title")?.textContent)).toEqual(["<b>conv1</b>", "fc"]);
    expect(paths[1].getAttribute("class")).toBe("dv-line dv-line-selected");
    expect(paths[1].getAttribute("data-layer")).toBe("fc");
    expect(paths[0].getAttribute("stroke-opacity")).toBe("0.55"); // another line is selected
    expect(svg.querySelectorAll('[data-testid="nan-mark"]')).toHaveLength(1);
    expect(svg.querySelectorAll("line.dv-rule")).toHaveLength(1);
    expect(svg.querySelector("b")).toBeNull(); // names are text
    expect(svg.getAttribute("aria-label")).toBe("L2 norm for 2 layers");
    expect(svg.textContent).toContain("L2 norm of weights");
  });

  it("draws nothing without data, and says so", () => {
    const { lines } = chart();
    expect(lines.draw(null, "no statistics")).toBe(false);
    expect(lines.element.childElementCount).toBe(0);
    expect(lines.element.getAttribute("aria-label")).toBe("no statistics");
    expect(lines.draw({ ...data, series: [], markers: [], xExtent: [] })).toBe(false);
  });

  it("reports the x under a click or a pointer move inside the plot", () => {
    const { lines, onClick, onMove } = chart();
    lines.draw({ ...data, xExtent: [0, 8] });
    vi.spyOn(lines.element, "getBoundingClientRect").mockReturnValue({
      left: 0,
      top: 0,
      width: 600,
      height: 360,
    } as DOMRect);
    // The plot spans 64..584 px for steps 0..8: the middle is step 4.
    lines.element.dispatchEvent(new MouseEvent("click", { clientX: 324, clientY: 100 }));
    expect(onClick).toHaveBeenCalledTimes(1);
    expect(onClick.mock.calls[0][0]).toBeCloseTo(4);
    lines.element.dispatchEvent(new MouseEvent("mousemove", { clientX: 10, clientY: 100 }));
    expect(onMove).toHaveBeenLastCalledWith(null); // left of the plot
    lines.element.dispatchEvent(new MouseEvent("click", { clientX: 10, clientY: 100 }));
    expect(onClick).toHaveBeenCalledTimes(1);
  });
});
