// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { nearestPoint, ScatterChart, scatterPoints } from "../../src/charts/scatter";
import { h } from "../../src/ui/dom";

describe("clusters scatter", () => {
  it("fits the finite points in the box, y up, and skips NaN/Inf", () => {
    const points = scatterPoints(
      [
        [0, 0],
        [2, 1],
        ["NaN", 1],
        [1, "Infinity"],
      ],
      100,
      10,
    );
    expect(points.map((p) => p.index)).toEqual([0, 1]);
    expect(points[0]).toEqual({ index: 0, x: 10, y: 70 });
    expect(points[1]).toEqual({ index: 1, x: 90, y: 30 });
  });
  it("finds the nearest point within a radius", () => {
    const points = [
      { index: 4, x: 10, y: 10 },
      { index: 7, x: 20, y: 10 },
    ];
    expect(nearestPoint(points, 14, 10, 8)?.index).toBe(4);
    expect(nearestPoint(points, 17, 11, 8)?.index).toBe(7);
    expect(nearestPoint(points, 50, 50, 8)).toBeNull();
  });
});

describe("ScatterChart", () => {
  function scatter() {
    const container = h("div");
    const onClick = vi.fn();
    const chart = new ScatterChart(container, {
      testid: "scatter",
      tooltipTestid: "tip",
      ariaLabel: "projection",
      size: 100,
      pad: 10,
      tooltip: (index) => [h("span", { text: `<b>image</b> #${index}` })],
      onClick,
    });
    vi.spyOn(chart.canvas, "getBoundingClientRect").mockReturnValue({
      left: 0,
      top: 0,
      width: 100,
      height: 100,
    } as DOMRect);
    chart.setPoints([
      [0, 0],
      [2, 1],
    ]);
    chart.draw({ colour: () => "red", selected: 1 });
    return { container, chart, onClick };
  }

  it("builds the canvas and its tooltip into the container", () => {
    const { container, chart } = scatter();
    expect(container.querySelector('canvas[data-testid="scatter"]')).toBe(chart.canvas);
    expect(chart.canvas.getAttribute("aria-label")).toBe("projection");
    expect(chart.canvas.style.width).toBe("100px");
    expect((container.querySelector('[data-testid="tip"]') as HTMLElement).hidden).toBe(true);
  });

  it("shows the tooltip of the point pointed at, as text, and reports a click on it", () => {
    const { container, chart, onClick } = scatter();
    const tip = container.querySelector('[data-testid="tip"]') as HTMLElement;
    chart.canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: 89, clientY: 31 }));
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe("<b>image</b> #1");
    expect(tip.querySelector("b")).toBeNull();
    chart.canvas.dispatchEvent(new MouseEvent("click", { clientX: 11, clientY: 70 }));
    expect(onClick).toHaveBeenCalledWith(0);
    chart.canvas.dispatchEvent(new MouseEvent("mouseleave"));
    expect(tip.hidden).toBe(true);
    chart.setPoints(null);
    chart.canvas.dispatchEvent(new MouseEvent("click", { clientX: 11, clientY: 70 }));
    expect(onClick).toHaveBeenCalledTimes(1);
  });
});
