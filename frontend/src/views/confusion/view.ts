// Confusion matrix at the selected checkpoint: cells shaded by count (or by share of the row),
// accuracy, the change since the previous checkpoint, and small multiples of the images in a
// cell on hover (click pins them; click an image to select it).

import { buildQuery, describe, type ConfusionResponse } from "../../api/client";
import { hasStep, previousStep, thumbnailsFor, type AppContext, type View } from "../../core/context";
import { className } from "../../lib/search";
import { currentRun } from "../../core/store";
import type { PrefetchItem } from "../../core/timeline";
import { checkbox, h, percent, replaceChildren, Status } from "../../ui/dom";

type Cell = { t: number; p: number };

/** Row shares of a count matrix (a row without images stays 0). */
export function rowShares(counts: readonly (readonly number[])[]): number[][] {
  return counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((value) => (total ? value / total : 0));
  });
}

/** How a cell's value is written: a count, a share with two decimals, a signed change. */
export function cellText(value: number, share: boolean, delta: boolean): string {
  const body = share ? Math.abs(value).toFixed(2) : String(Math.abs(Math.round(value)));
  if (!delta) return share ? value.toFixed(2) : String(Math.round(value));
  if (body === "0" || body === "0.00") return body;
  return `${value > 0 ? "+" : "-"}${body}`;
}

function mix(from: [number, number, number], to: [number, number, number], t: number): string {
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export class ConfusionView implements View {
  readonly root: HTMLElement;
  private active = false;
  private readonly status = new Status();
  private readonly matrix: HTMLElement;
  private readonly accuracy: HTMLElement;
  private readonly rowNormalize: HTMLInputElement;
  private readonly delta: HTMLInputElement;
  private readonly examples: HTMLElement;
  private token = 0;
  private data: {
    run: string;
    current: ConfusionResponse;
    previous: ConfusionResponse | null;
    names: string[];
  } | null = null;
  private hovered: Cell | null = null;
  private pinned: Cell | null = null;
  private examplesKey = "";

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    const state = store.get();
    const rowNormalize = checkbox("confusion-row-normalize", "normalize rows", state.rowNormalize, (checked) =>
      store.set({ rowNormalize: checked }),
    );
    const delta = checkbox("confusion-delta", "change since previous checkpoint", state.delta, (checked) =>
      store.set({ delta: checked }),
    );
    this.rowNormalize = rowNormalize.input;
    this.delta = delta.input;
    this.accuracy = h("span", { testid: "confusion-accuracy", class: "dv-accuracy" });
    this.matrix = h("div", {
      testid: "confusion-matrix",
      class: "dv-matrix",
      attrs: { role: "grid", "aria-label": "Confusion matrix" },
    });
    this.examples = h("div", {
      testid: "confusion-examples",
      class: "dv-examples dv-panel",
      attrs: { "aria-live": "polite" },
    });
    this.matrix.addEventListener("mouseover", (event) => {
      const cell = this.cellOf(event.target);
      if (cell) this.setHover(cell);
    });
    this.matrix.addEventListener("mouseleave", () => this.setHover(null));
    this.matrix.addEventListener("click", (event) => {
      const cell = this.cellOf(event.target);
      if (!cell) return;
      const same = this.pinned && this.pinned.t === cell.t && this.pinned.p === cell.p;
      this.pinned = same ? null : cell;
      this.markPinned();
      this.renderExamples();
    });
    this.root = h(
      "section",
      { testid: "view-confusion", class: "dv-view", attrs: { role: "tabpanel", "aria-label": "Confusion matrix" } },
      h("div", { class: "dv-toolbar" }, this.accuracy, rowNormalize.label, delta.label),
      this.status.element,
      h(
        "div",
        { class: "dv-confusion-layout" },
        h(
          "div",
          {},
          h("div", { class: "dv-small dv-muted", text: "rows: true class · columns: predicted class" }),
          this.matrix,
        ),
        this.examples,
      ),
    );
    this.root.hidden = true;
    store.subscribe(() => this.active && ctx.gate.track(this.load()), ["runs", "run", "step", "loaded"]);
    store.subscribe(() => this.active && ctx.gate.track(this.load()), ["delta"]);
    store.subscribe(() => this.active && this.renderMatrix(), ["rowNormalize"]);
    store.subscribe(
      (s) => {
        this.rowNormalize.checked = s.rowNormalize;
        this.delta.checked = s.delta;
      },
      ["rowNormalize", "delta"],
    );
    store.subscribe(() => {
      this.pinned = null;
      this.hovered = null;
    }, ["run"]);
    ctx.prefetcher.register((step) => this.prefetch(step));
  }

  setActive(active: boolean): void {
    this.active = active;
    this.root.hidden = !active;
    if (active) void this.load();
  }

  private prefetch(step: number): PrefetchItem[] {
    const run = currentRun(this.ctx.store.get());
    if (!this.active || !run || !hasStep(run, "confusion", step)) return [];
    return [{ kind: "json", url: buildQuery("confusion", { run: run.run, step }) }];
  }

  private cellOf(target: EventTarget | null): Cell | null {
    const element = target instanceof Element ? target.closest("[data-testid=confusion-cell]") : null;
    if (!element) return null;
    return { t: Number(element.getAttribute("data-true")), p: Number(element.getAttribute("data-pred")) };
  }

  private async load(): Promise<void> {
    const token = ++this.token;
    const { store, api } = this.ctx;
    const state = store.get();
    const run = currentRun(state);
    const empty = (text: string, kind: "empty" | "loading" = "empty") => {
      this.data = null;
      this.status.set(kind, text);
      replaceChildren(this.matrix);
      this.accuracy.textContent = "";
      this.renderExamples();
    };
    if (!state.loaded) return empty("Loading the list of runs…", "loading");
    if (!run) return empty(state.runs.length ? "Select a run." : "No run has deepviz data yet.");
    if (state.step === null) return empty(`Run ${run.run} has no checkpoints yet.`);
    if (!hasStep(run, "confusion", state.step)) return empty(`No confusion matrix was logged at step ${state.step}.`);
    const step = state.step;
    const before = state.delta ? previousStep(run, "confusion", step) : null;
    if (!this.data) this.status.set("loading", `Loading the confusion matrix at step ${step}…`);
    try {
      const [current, previous, corpus] = await Promise.all([
        api.confusion(run.run, step),
        before === null ? Promise.resolve(null) : api.confusion(run.run, before),
        run.kinds.includes("corpus") ? api.corpus(run.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (token !== this.token) return;
      const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
      this.data = { run: run.run, current, previous, names };
    } catch (error) {
      if (token !== this.token) return;
      empty("");
      this.status.set("error", `Could not load the confusion matrix: ${describe(error)}`);
      return;
    }
    this.renderMatrix();
    this.renderExamples();
  }

  private renderMatrix(): void {
    const state = this.ctx.store.get();
    const data = this.data;
    if (!data) return;
    const { current, previous, names } = data;
    const classes = current.counts.length;
    const share = state.rowNormalize;
    const showDelta = state.delta && previous !== null && previous.counts.length === classes;
    const values = share ? rowShares(current.counts) : current.counts.map((row) => [...row]);
    const before = showDelta && previous ? (share ? rowShares(previous.counts) : previous.counts) : null;
    const shown = before ? values.map((row, t) => row.map((value, p) => value - before[t][p])) : values;
    const total = current.counts.flat().reduce((a, b) => a + b, 0);
    let scale = 0;
    for (const row of shown) for (const value of row) scale = Math.max(scale, Math.abs(value));

    this.matrix.style.gridTemplateColumns = `minmax(40px, max-content) repeat(${classes}, minmax(30px, 1fr))`;
    const children: HTMLElement[] = [h("div", { class: "dv-matrix-head" })];
    for (let p = 0; p < classes; p += 1) {
      children.push(
        h("div", {
          class: "dv-matrix-head dv-matrix-col",
          text: className(names, p),
          title: `predicted ${className(names, p)}`,
        }),
      );
    }
    for (let t = 0; t < classes; t += 1) {
      children.push(
        h("div", {
          class: "dv-matrix-head dv-matrix-row",
          text: className(names, t),
          title: `true ${className(names, t)}`,
        }),
      );
      for (let p = 0; p < classes; p += 1) {
        const value = shown[t][p];
        const magnitude = scale ? Math.abs(value) / scale : 0;
        let background: string;
        if (before) {
          const good = t === p ? value > 0 : value < 0;
          background =
            value === 0 ? "#fff" : mix([255, 255, 255], good ? [33, 113, 181] : [203, 24, 29], Math.sqrt(magnitude));
        } else {
          background = mix([255, 255, 255], [8, 69, 148], Math.sqrt(magnitude));
        }
        const dark = Math.sqrt(magnitude) > 0.55;
        const count = current.counts[t][p];
        const title = `true ${className(names, t)}, predicted ${className(names, p)}: ${count} image${count === 1 ? "" : "s"}${share ? ` (${percent(values[t][p])} of the row)` : ""}${before ? `; change ${cellText(value, share, true)} since step ${previous?.step}` : ""}`;
        children.push(
          h("div", {
            testid: "confusion-cell",
            class: `dv-cell${t === p ? " dv-cell-diagonal" : ""}`,
            text: cellText(value, share, Boolean(before)),
            title,
            attrs: { role: "gridcell", "data-true": t, "data-pred": p, "data-count": count },
            style: { background, color: dark ? "#fff" : "#212121" },
          }),
        );
      }
    }
    replaceChildren(this.matrix, ...children);
    this.markPinned();
    const accuracy = current.accuracy;
    let accuracyText = `accuracy ${percent(accuracy)} at step ${current.step}`;
    if (previous && previous.accuracy !== null && accuracy !== null && state.delta) {
      const change = (accuracy - previous.accuracy) * 100;
      accuracyText += ` (${change >= 0 ? "+" : "-"}${Math.abs(change).toFixed(1)} points since step ${previous.step})`;
    }
    this.accuracy.textContent = accuracyText;
    const notes: string[] = [`${total} eval images, ${classes} classes, step ${current.step}`];
    if (state.delta && !previous) notes.push("no earlier checkpoint to compare with, so counts are shown");
    else if (before) notes.push(`change since step ${previous?.step}: blue better, red worse`);
    this.status.set("ready", notes.join(" · "));
  }

  private markPinned(): void {
    for (const element of Array.from(this.matrix.querySelectorAll(".dv-cell-pinned")))
      element.classList.remove("dv-cell-pinned");
    if (!this.pinned) return;
    const selector = `[data-testid=confusion-cell][data-true="${this.pinned.t}"][data-pred="${this.pinned.p}"]`;
    this.matrix.querySelector(selector)?.classList.add("dv-cell-pinned");
  }

  private setHover(cell: Cell | null): void {
    this.hovered = cell;
    if (!this.pinned) this.renderExamples();
  }

  private renderExamples(): void {
    const data = this.data;
    const cell = this.pinned ?? this.hovered;
    const run = currentRun(this.ctx.store.get());
    const thumbnails = thumbnailsFor(this.ctx, run);
    if (!data || !cell || cell.t >= data.current.counts.length || cell.p >= data.current.counts.length) {
      const key = data ? "hint" : "none";
      if (this.examplesKey === key) return;
      this.examplesKey = key;
      replaceChildren(
        this.examples,
        h("div", {
          class: "dv-muted",
          text: data ? "Point at a cell to see its images; click a cell to pin them." : "",
        }),
      );
      return;
    }
    const images = data.current.cell_images[cell.t]?.[cell.p] ?? [];
    const count = data.current.counts[cell.t][cell.p];
    const key = `${data.run}|${data.current.step}|${cell.t}|${cell.p}|${this.pinned ? "pinned" : "hover"}`;
    if (key === this.examplesKey) return;
    this.examplesKey = key;
    const heading = `true ${className(data.names, cell.t)} → predicted ${className(data.names, cell.p)}: ${count} image${count === 1 ? "" : "s"}${images.length < count ? ` (showing ${images.length})` : ""}`;
    const grid = h("div", { class: "dv-examples-grid" });
    if (thumbnails) {
      for (const index of images) {
        if (index >= thumbnails.count) continue;
        const canvas = thumbnails.canvas(index, 48, {
          testid: "confusion-example",
          title: `image #${index}; click to select it`,
        });
        canvas.addEventListener("click", () => this.ctx.store.set({ image: index }));
        grid.appendChild(canvas);
      }
    }
    replaceChildren(
      this.examples,
      h(
        "div",
        { class: "dv-toolbar" },
        h("strong", { text: heading }),
        this.pinned
          ? h("button", {
              class: "dv-link",
              text: "unpin",
              attrs: { type: "button" },
              on: {
                click: () => {
                  this.pinned = null;
                  this.markPinned();
                  this.renderExamples();
                },
              },
            })
          : h("span", { class: "dv-small dv-muted", text: "click the cell to pin" }),
      ),
      images.length ? grid : h("div", { class: "dv-muted", text: "No images in this cell." }),
      thumbnails ? null : h("div", { class: "dv-muted", text: "This run logged no thumbnails." }),
    );
  }
}
