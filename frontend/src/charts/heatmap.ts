// A heat map as a grid of cells with row and column headings (a confusion matrix, a unit x
// class matrix): each cell has its text, background and tooltip, and data attributes that
// name its row and column. Pointing at a cell, leaving the map and clicking a cell are
// reported; one or more cells can be marked (a pinned cell). Headings and tooltips are text.

import { mix, type Rgb } from "../lib/colours";
import { h, replaceChildren } from "../ui/dom";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-matrix { display: grid; gap: 1px; font-size: 11px; font-variant-numeric: tabular-nums; }
.dv-matrix-head { color: var(--dv-muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 2px; }
.dv-matrix-row { align-self: center; max-width: 160px; }
.dv-matrix-col { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; max-height: 90px; }
.dv-cell { min-width: 30px; height: 28px; display: flex; align-items: center; justify-content: center; cursor: pointer; border: 1px solid transparent; }
.dv-cell:hover { border-color: var(--dv-accent); }
.dv-cell-diagonal { box-shadow: inset 0 0 0 1px #78909c; }
.dv-cell-pinned { border: 2px solid var(--dv-select) !important; }
.dv-matrix-compact { font-size: 10px; }
.dv-matrix-compact .dv-cell { min-width: 22px; height: 16px; }
.dv-matrix-compact .dv-matrix-head { padding: 0 4px; }
`;

export interface HeatCell {
  text: string;
  background: string;
  /** White text (on a dark background). */
  dark?: boolean;
  title: string;
  className?: string;
  attrs?: Record<string, string | number>;
}

export interface Heading {
  label: string;
  title: string;
  /** Extra classes of the heading (a marked row). */
  className?: string;
  attrs?: Record<string, string | number>;
}

export interface HeatMapData {
  rows: readonly Heading[];
  columns: readonly Heading[];
  cell(row: number, column: number): HeatCell;
}

export interface Cell {
  row: number;
  column: number;
}

export interface HeatMapSettings {
  testid?: string;
  cellTestid?: string;
  /** Extra classes of the grid ("dv-matrix-compact": small cells for many rows). */
  className?: string;
  ariaLabel: string;
  /** The attributes naming a cell's row and column (default data-row and data-column). */
  rowAttribute?: string;
  columnAttribute?: string;
  onHover?: (cell: Cell | null) => void;
  onClick?: (cell: Cell) => void;
}

/** A cell's shade: white towards `to` by the square root of `t` (0..1), with whether text on it should be white. */
export function shade(to: Rgb, t: number): { background: string; dark: boolean } {
  const strength = Math.sqrt(Math.max(0, Math.min(1, t)));
  return { background: mix([255, 255, 255], to, strength), dark: strength > 0.55 };
}

export class HeatMap {
  readonly element: HTMLElement;
  private readonly rowAttribute: string;
  private readonly columnAttribute: string;

  constructor(
    container: HTMLElement,
    private readonly settings: HeatMapSettings,
  ) {
    ensureStyles("heatmap", CSS);
    this.rowAttribute = settings.rowAttribute ?? "data-row";
    this.columnAttribute = settings.columnAttribute ?? "data-column";
    this.element = h("div", {
      testid: settings.testid,
      class: settings.className ? `dv-matrix ${settings.className}` : "dv-matrix",
      attrs: { role: "grid", "aria-label": settings.ariaLabel },
    });
    this.element.addEventListener("mouseover", (event) => {
      const cell = this.cellOf(event.target);
      if (cell) settings.onHover?.(cell);
    });
    this.element.addEventListener("mouseleave", () => settings.onHover?.(null));
    this.element.addEventListener("click", (event) => {
      const cell = this.cellOf(event.target);
      if (cell) settings.onClick?.(cell);
    });
    container.appendChild(this.element);
  }

  draw(data: HeatMapData): void {
    const columns = data.columns.length;
    const minimum = this.settings.className?.includes("dv-matrix-compact") ? 22 : 30;
    this.element.style.gridTemplateColumns = `minmax(40px, max-content) repeat(${columns}, minmax(${minimum}px, 1fr))`;
    const heading = (base: string, { label, title, className, attrs }: Heading) =>
      h("div", { class: className ? `${base} ${className}` : base, text: label, title, attrs });
    const children: HTMLElement[] = [h("div", { class: "dv-matrix-head" })];
    for (const column of data.columns) children.push(heading("dv-matrix-head dv-matrix-col", column));
    data.rows.forEach((row, r) => {
      children.push(heading("dv-matrix-head dv-matrix-row", row));
      for (let c = 0; c < columns; c += 1) {
        const cell = data.cell(r, c);
        children.push(
          h("div", {
            testid: this.settings.cellTestid,
            class: `dv-cell${cell.className ? ` ${cell.className}` : ""}`,
            text: cell.text,
            title: cell.title,
            attrs: { role: "gridcell", [this.rowAttribute]: r, [this.columnAttribute]: c, ...cell.attrs },
            style: { background: cell.background, color: cell.dark ? "#fff" : "#212121" },
          }),
        );
      }
    });
    replaceChildren(this.element, ...children);
  }

  clear(): void {
    replaceChildren(this.element);
  }

  /** Give `className` to exactly the cells listed (e.g. the pinned one). */
  mark(className: string, cells: readonly Cell[]): void {
    for (const element of Array.from(this.element.querySelectorAll(`.${className}`))) {
      element.classList.remove(className);
    }
    for (const { row, column } of cells) {
      const selector = `[${this.rowAttribute}="${row}"][${this.columnAttribute}="${column}"]`;
      this.element.querySelector(selector)?.classList.add(className);
    }
  }

  private cellOf(target: EventTarget | null): Cell | null {
    const element =
      target instanceof Element ? target.closest(`[${this.rowAttribute}][${this.columnAttribute}]`) : null;
    if (!element || !this.element.contains(element)) return null;
    return {
      row: Number(element.getAttribute(this.rowAttribute)),
      column: Number(element.getAttribute(this.columnAttribute)),
    };
  }
}
