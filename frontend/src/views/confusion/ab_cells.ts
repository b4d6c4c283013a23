// The Confusion view's A/B mode, cell by cell: pointing at a cell of B's matrix or of B minus A
// reads out A's and B's counts (and row shares) and the difference; clicking one pins that cell
// (the state's `cell`, as A's matrix does), and B's images of the pinned cell are listed, each
// image that A predicted otherwise captioned with A's prediction. The selected eval image is
// named with both predictions (a flipped image: right on one side, wrong on the other).

import { errorText } from "../../api/client";
import type { ConfusionDiffResponse, ConfusionResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import type { Cell, HeatMap } from "../../charts/heatmap";
import type { AppContext } from "../../core/context";
import { currentRun, SIDE_B } from "../../core/derived";
import { Latest } from "../../core/guards";
import { className } from "../../lib/search";
import { h, replaceChildren } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { thumbnailsFor } from "../../ui/thumbnails";

const CSS = `
.dv-ab-examples { margin-top: 8px; max-width: 420px; }
.dv-ab-examples-grid { display: flex; flex-wrap: wrap; gap: 3px; margin-top: 4px; }
.dv-ab-example { display: inline-flex; flex-direction: column; align-items: center; font-size: 10px; max-width: 64px; }
.dv-ab-example.dv-moved canvas { outline: 2px solid #ef6c00; }
.dv-ab-example span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 64px; }
.dv-ab-readout { min-height: 1.4em; }
`;

function signedCount(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}

function signedShare(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const text = Math.abs(value).toFixed(2);
  return text === "0.00" ? text : `${value > 0 ? "+" : "-"}${text}`;
}

function rowShare(counts: readonly (readonly number[])[], t: number, p: number): number {
  const total = counts[t].reduce((a, b) => a + b, 0);
  return total ? counts[t][p] / total : 0;
}

/**
 * What a cell (true t, predicted p) holds in A and B: "true cat → predicted dog: A 3 · B 5 ·
 * B minus A +2", with the row shares too when rows are normalized.
 */
export function cellReadout(
  data: ConfusionDiffResponse,
  t: number,
  p: number,
  share: boolean,
  names: readonly string[],
): string {
  const a = data.counts_a[t]?.[p] ?? 0;
  const b = data.counts_b[t]?.[p] ?? 0;
  let text = `true ${className(names, t)} → predicted ${className(names, p)}: A ${a} · B ${b} · B minus A ${signedCount(data.diff[t]?.[p] ?? b - a)}`;
  if (share) {
    const shareA = rowShare(data.counts_a, t, p);
    const shareB = rowShare(data.counts_b, t, p);
    const diff = toNumber(data.row_shares_diff[t]?.[p] ?? shareB - shareA);
    text += ` (row shares A ${shareA.toFixed(2)} · B ${shareB.toFixed(2)} · ${signedShare(diff)})`;
  }
  return text;
}

/** An image's two predictions in words, and which side was right: "A predicted cat (right) · B predicted dog (wrong)". */
export function bothPredictions(
  label: number,
  predictedA: number,
  predictedB: number,
  names: readonly string[],
): string {
  const side = (name: string, predicted: number) =>
    `${name} predicted ${className(names, predicted)} (${predicted === label ? "right" : "wrong"})`;
  return `${side("A", predictedA)} · ${side("B", predictedB)}`;
}

/** What the cell panels need beyond B minus A: B's images per cell and both sides' predictions. */
interface Detail {
  key: string;
  confusionB: ConfusionResponse;
  predictedA: number[];
  predictedB: number[];
  labels: number[] | null;
}

export class ABCells {
  /** The read-out of the cell under the pointer (or the pinned one). */
  readonly readout: HTMLElement;
  /** B's images of the pinned cell. */
  readonly examples: HTMLElement;
  /** The selected image with both predictions. */
  readonly image: HTMLElement;
  private readonly loads = new Latest();
  private data: ConfusionDiffResponse | null = null;
  private share = false;
  private names: readonly string[] = [];
  private hovered: Cell | null = null;
  private detail: Detail | null = null;
  private maps: readonly HeatMap[] = [];

  constructor(private readonly ctx: AppContext) {
    ensureStyles("confusion-ab-cells", CSS);
    this.readout = h("div", { testid: "confusion-ab-readout", class: "dv-small dv-ab-readout" });
    this.examples = h("div", { testid: "confusion-examples-b", class: "dv-ab-examples dv-panel" });
    this.examples.hidden = true;
    this.image = h("div", { testid: "confusion-ab-image", class: "dv-small" });
    ctx.store.subscribe(() => this.update(), ["cell", "image"]);
  }

  /** The heat maps whose cells pin and mark (B's matrix and B minus A). */
  attach(maps: readonly HeatMap[]): void {
    this.maps = maps;
  }

  /** The pinned cell (the state's, shared with A's matrix), or null. */
  private get pinned(): Cell | null {
    const cell = this.ctx.store.get().cell;
    return cell ? { row: cell[0], column: cell[1] } : null;
  }

  hover(cell: Cell | null): void {
    this.hovered = cell;
    this.renderReadout();
  }

  /** A click on a cell of B or of B minus A: pin it, or unpin it when it is the pinned one. */
  click(cell: Cell): void {
    const pinned = this.pinned;
    const same = pinned && pinned.row === cell.row && pinned.column === cell.column;
    this.ctx.store.set({ cell: same ? null : [cell.row, cell.column] });
  }

  /** New B minus A (null: A/B off or failed); redraws the read-out and the panels. */
  render(data: ConfusionDiffResponse | null, share: boolean, names: readonly string[]): void {
    if (data !== this.data) this.hovered = null;
    this.data = data;
    this.share = share;
    this.names = names;
    this.update();
  }

  private update(): void {
    for (const map of this.maps) map.mark("dv-cell-pinned", this.pinned ? [this.pinned] : []);
    this.renderReadout();
    const state = this.ctx.store.get();
    if (!this.data || (state.cell === null && state.image === null)) {
      this.renderPanels();
      return;
    }
    void this.loadDetail();
  }

  private renderReadout(): void {
    const data = this.data;
    const cell = this.hovered ?? this.pinned;
    const classes = data?.counts_a.length ?? 0;
    if (!data || !cell || cell.row >= classes || cell.column >= classes) {
      this.readout.textContent = data
        ? "Point at a cell of B or of B minus A to compare its counts; click to pin it."
        : "";
      return;
    }
    this.readout.textContent = cellReadout(data, cell.row, cell.column, this.share, this.names);
  }

  private detailKey(): string {
    const data = this.data;
    return data ? `${data.run}|${data.step}|${data.run_b}|${data.step_b}` : "";
  }

  /** B's confusion answer and both predictions, for the pinned cell's images and the selected image. */
  private async loadDetail(): Promise<void> {
    const data = this.data;
    const key = this.detailKey();
    if (!data || this.detail?.key === key) {
      this.renderPanels();
      return;
    }
    const current = this.loads.start();
    const { api } = this.ctx;
    const run = currentRun(this.ctx.store.get());
    try {
      const [confusionB, predictionsA, predictionsB, corpus] = await Promise.all([
        api.confusion(data.run_b, data.step_b),
        api.predictions(data.run, data.step),
        api.predictions(data.run_b, data.step_b),
        run?.kinds.includes("corpus") ? api.corpus(data.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (!current()) return;
      this.detail = {
        key,
        confusionB,
        predictedA: predictionsA.predicted,
        predictedB: predictionsB.predicted,
        labels: corpus?.labels ?? null,
      };
    } catch (error) {
      if (!current()) return;
      this.detail = null;
      this.examples.hidden = false;
      replaceChildren(
        this.examples,
        h("div", { class: "dv-status-error", text: `Could not load B's images: ${errorText(error)}` }),
      );
      return;
    }
    this.renderPanels();
  }

  private renderPanels(): void {
    const state = this.ctx.store.get();
    const detail = this.detail?.key === this.detailKey() ? this.detail : null;
    this.renderImage(detail, state.image);
    const cell = this.pinned;
    const classes = this.data?.counts_b.length ?? 0;
    if (!this.data || !cell || !detail || cell.row >= classes || cell.column >= classes) {
      this.examples.hidden = true;
      replaceChildren(this.examples);
      return;
    }
    const { row: t, column: p } = cell;
    const images = detail.confusionB.cell_images[t]?.[p] ?? [];
    const count = this.data.counts_b[t][p];
    const thumbnails = thumbnailsFor(this.ctx, SIDE_B.run(state) ?? currentRun(state));
    const names = this.names;
    const moved = images.filter((index) => detail.predictedA[index] !== p);
    const grid = h("div", { class: "dv-ab-examples-grid" });
    for (const index of images) {
      const predictedA = detail.predictedA[index];
      const differs = predictedA !== undefined && predictedA !== p;
      const title = `image #${index}: ${bothPredictions(t, predictedA ?? -1, p, names)}; click to select it`;
      const item =
        thumbnails && index < thumbnails.count
          ? thumbnails.canvas(index, 40, { testid: "confusion-example-b", title })
          : h("span", {
              testid: "confusion-example-b",
              class: "dv-chip",
              text: `#${index}`,
              title,
              attrs: { "data-index": index },
            });
      item.addEventListener("click", () => this.ctx.store.set({ image: index }));
      grid.appendChild(
        h(
          "div",
          {
            class: `dv-ab-example${differs ? " dv-moved" : ""}`,
            attrs: { "data-index": index, "data-predicted-a": predictedA ?? "" },
          },
          item,
          differs ? h("span", { text: `A: ${className(names, predictedA)}`, title }) : null,
        ),
      );
    }
    const shown = images.length < count ? ` (showing ${images.length})` : "";
    this.examples.hidden = false;
    replaceChildren(
      this.examples,
      h("strong", {
        text: `B: true ${className(names, t)} → predicted ${className(names, p)}: ${count} image${count === 1 ? "" : "s"}${shown}`,
      }),
      h("div", {
        class: "dv-small dv-muted",
        text: moved.length
          ? `${moved.length} of them A predicted otherwise (outlined, A's prediction under each)`
          : "A predicted every one of them the same",
      }),
      images.length ? grid : h("div", { class: "dv-muted", text: "No images in this cell." }),
    );
  }

  private renderImage(detail: Detail | null, image: number | null): void {
    if (!detail || image === null || detail.predictedA[image] === undefined || detail.predictedB[image] === undefined) {
      this.image.textContent = "";
      return;
    }
    const label = detail.labels?.[image];
    const predictedA = detail.predictedA[image];
    const predictedB = detail.predictedB[image];
    const truth = label === undefined ? "" : ` (true ${className(this.names, label)})`;
    const both =
      label === undefined
        ? `A predicted ${className(this.names, predictedA)} · B predicted ${className(this.names, predictedB)}`
        : bothPredictions(label, predictedA, predictedB, this.names);
    this.image.textContent = `image #${image}${truth}: ${both}`;
  }
}
