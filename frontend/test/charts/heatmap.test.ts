// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { HeatMap, shade } from "../../src/charts/heatmap";
import { h } from "../../src/ui/dom";

function heatmap() {
  const container = h("div");
  const onHover = vi.fn();
  const onClick = vi.fn();
  const map = new HeatMap(container, {
    testid: "matrix",
    cellTestid: "cell",
    ariaLabel: "Units by class",
    rowAttribute: "data-unit",
    columnAttribute: "data-class",
    onHover,
    onClick,
  });
  map.draw({
    rows: [
      { label: "unit 0", title: "unit 0" },
      { label: "unit 1", title: "unit 1" },
    ],
    columns: ["<b>cat</b>", "dog", "fish"].map((name) => ({ label: name, title: `class ${name}` })),
    cell: (row, column) => ({
      text: String(row * 3 + column),
      ...shade([8, 69, 148], (row * 3 + column) / 5),
      title: `unit ${row}, class ${column}`,
      className: row === column ? "dv-cell-diagonal" : undefined,
      attrs: { "data-value": row * 3 + column },
    }),
  });
  return { container, map, onHover, onClick };
}

const cells = (root: ParentNode) => [...root.querySelectorAll<HTMLElement>('[data-testid="cell"]')];

describe("HeatMap", () => {
  it("draws a cell per row and column, with headings as text", () => {
    const { container, map } = heatmap();
    expect(container.firstElementChild).toBe(map.element);
    expect(map.element.getAttribute("role")).toBe("grid");
    expect(cells(container).map((cell) => cell.textContent)).toEqual(["0", "1", "2", "3", "4", "5"]);
    const last = cells(container)[5];
    expect([last.getAttribute("data-unit"), last.getAttribute("data-class"), last.getAttribute("data-value")]).toEqual([
      "1",
      "2",
      "5",
    ]);
    expect(last.style.color).toBe("#fff"); // dark background, white text
    expect(cells(container)[0].className).toBe("dv-cell dv-cell-diagonal");
    expect(map.element.querySelector("b")).toBeNull();
    expect(map.element.textContent).toContain("<b>cat</b>");
  });

  it("reports the cell pointed at and clicked, and marks cells", () => {
    const { container, map, onHover, onClick } = heatmap();
    const cell = cells(container)[4];
    cell.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(onHover).toHaveBeenLastCalledWith({ row: 1, column: 1 });
    cell.click();
    expect(onClick).toHaveBeenLastCalledWith({ row: 1, column: 1 });
    map.element.dispatchEvent(new MouseEvent("mouseleave"));
    expect(onHover).toHaveBeenLastCalledWith(null);
    map.mark("dv-cell-pinned", [{ row: 0, column: 2 }]);
    map.mark("dv-cell-pinned", [{ row: 1, column: 0 }]);
    expect(cells(container).map((c) => c.classList.contains("dv-cell-pinned"))).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    map.clear();
    expect(cells(container)).toHaveLength(0);
  });

  it("shades from white by the square root of the share", () => {
    expect(shade([0, 0, 0], 0)).toEqual({ background: "rgb(255, 255, 255)", dark: false });
    expect(shade([0, 0, 0], 0.25)).toEqual({ background: "rgb(128, 128, 128)", dark: false });
    expect(shade([0, 0, 0], 1)).toEqual({ background: "rgb(0, 0, 0)", dark: true });
  });
});
