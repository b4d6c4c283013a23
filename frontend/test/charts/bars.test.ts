// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { BarChart } from "../../src/charts/bars";
import { h } from "../../src/ui/dom";

describe("BarChart", () => {
  it("draws a row per bar with its label as text, its length clamped", () => {
    const container = h("div");
    const bars = new BarChart(container, { testid: "bars", className: "dv-histogram" });
    bars.draw({
      caption: "class means",
      bars: [
        {
          label: "<img src=x>",
          fraction: 0.25,
          text: "25%",
          title: "a",
          classes: ["dv-predicted"],
          attrs: { "data-class": 0 },
        },
        { label: "dog", fraction: 7, text: "700%", title: "b" },
        { label: "fish", fraction: Number.NaN, text: "NaN", title: "c" },
      ],
      note: "only one class",
    });
    const rows = [...container.querySelectorAll<HTMLElement>(".dv-bar-row")];
    expect(rows.map((row) => row.className)).toEqual(["dv-bar-row dv-predicted", "dv-bar-row", "dv-bar-row"]);
    expect(rows.map((row) => (row.querySelector(".dv-bar") as HTMLElement).style.width)).toEqual(["25%", "100%", "0%"]);
    expect(rows[0].getAttribute("data-class")).toBe("0");
    expect(container.querySelector("img")).toBeNull();
    expect(bars.element.textContent).toContain("<img src=x>");
    expect(bars.element.firstElementChild?.textContent).toBe("class means");
    expect(bars.element.lastElementChild?.textContent).toBe("only one class");
  });

  it("shows a message or an error instead of bars", () => {
    const bars = new BarChart(h("div"));
    bars.message("No predictions were logged at this step.");
    expect(bars.element.querySelector(".dv-muted")?.textContent).toBe("No predictions were logged at this step.");
    bars.message("404 no such run", true);
    expect(bars.element.querySelector(".dv-status-error")?.textContent).toBe("404 no such run");
    bars.clear();
    expect(bars.element.childElementCount).toBe(0);
  });
});
