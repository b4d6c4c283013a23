// The corpus browser: the eval images as a grid of thumbnails, searchable (class, label, id,
// caption, #index) and filterable (misclassified at the selected checkpoint, probe images
// only), a page at a time. Clicking an image (or Enter on it) selects it; the selected one is
// marked.

import { errorText } from "../api/client";
import type { CorpusResponse } from "../api/types";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import { className, searchCorpus } from "../lib/search";
import { checkbox, h, replaceChildren, Status, testids } from "../ui/dom";
import { ensureStyles } from "../ui/styles";
import { thumbnailsFor } from "../ui/thumbnails";

const CSS = `
.dv-corpus-grid { display: flex; flex-wrap: wrap; gap: 3px; max-height: 360px; overflow: auto; padding: 2px; }
.dv-search { min-width: 240px; }
`;

export interface CorpusBrowserSettings {
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Images shown at first, and added by "Show more". */
  page?: number;
  /** Side of a thumbnail in CSS pixels. */
  size?: number;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
}

export class CorpusBrowser extends Part {
  readonly element: HTMLElement;
  private readonly side: Side;
  private readonly page: number;
  private readonly search: HTMLInputElement;
  private readonly misclassified: HTMLInputElement;
  private readonly probesOnly: HTMLInputElement;
  private readonly grid: HTMLElement;
  private readonly status: Status;
  private readonly more: HTMLButtonElement;
  private readonly loads = new Latest();
  private shownCount: number;
  private gridKey = "";
  private readonly itemTestid: string;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    private readonly settings: CorpusBrowserSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("corpus-browser", CSS);
    this.side = settings.side ?? MAIN;
    const id = testids(settings.testidSuffix);
    this.status = new Status(id("corpus-status"));
    this.itemTestid = id("corpus-item");
    this.page = settings.page ?? 240;
    this.shownCount = this.page;
    const restart = () => {
      this.shownCount = this.page;
      void this.render();
    };
    this.search = h("input", {
      testid: id("corpus-search"),
      class: "dv-search",
      attrs: {
        type: "search",
        placeholder: "class, label, id, caption or #index",
        "aria-label": "Search the eval images",
      },
    });
    let searchTimer: number | null = null;
    this.search.addEventListener("input", () => {
      if (searchTimer !== null) window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(restart, 150);
    });
    const misclassified = checkbox(id("corpus-misclassified"), "misclassified at this step", false, restart);
    const probesOnly = checkbox(id("corpus-probes"), "probe images only", false, restart);
    this.misclassified = misclassified.input;
    this.probesOnly = probesOnly.input;
    this.grid = h("div", {
      testid: id("corpus-grid"),
      class: "dv-corpus-grid",
      attrs: { role: "listbox", "aria-label": "Eval images" },
    });
    this.more = h("button", {
      class: "dv-button",
      text: "Show more",
      attrs: { type: "button" },
      on: {
        click: () => {
          this.shownCount += this.page;
          void this.render();
        },
      },
    });
    this.more.hidden = true;
    this.element = h(
      "div",
      { class: "dv-corpus" },
      h(
        "div",
        { class: "dv-toolbar" },
        h("h3", { text: "Eval images" }),
        this.search,
        misclassified.label,
        probesOnly.label,
      ),
      this.status.element,
      this.grid,
      this.more,
    );
    container.appendChild(this.element);
    this.watch(this.side.runKeys);
    this.watch(this.side.stepKeys, () => {
      if (this.misclassified.checked) void this.render();
    });
    this.watch(["image"], () => this.mark());
  }

  protected refresh(): void {
    void this.render();
  }

  private async render(): Promise<void> {
    const current = this.loads.start();
    const { api, probes } = this.ctx;
    const state = this.store.get();
    const run = this.side.run(state);
    const step = this.side.step(state);
    const thumbnails = thumbnailsFor(this.ctx, run);
    const none = (kind: "empty" | "error", text: string) => {
      replaceChildren(this.grid);
      this.gridKey = "";
      this.more.hidden = true;
      this.status.set(kind, text);
    };
    if (!run?.kinds.includes("corpus") || !thumbnails) {
      return none("empty", run ? `Run ${run.run} logged no eval images.` : "No run selected.");
    }
    let corpus: CorpusResponse;
    let predicted: number[] | null = null;
    let only: ReadonlySet<number> | null = null;
    try {
      if (this.grid.childElementCount === 0) this.status.set("loading", "Loading the eval images…");
      corpus = await api.corpus(run.run);
      if (this.misclassified.checked) {
        if (step === null || !hasStep(run, "predictions", step)) {
          if (!current()) return;
          return none(
            "empty",
            `No predictions were logged at step ${step ?? "–"}, so misclassified images are unknown.`,
          );
        }
        predicted = (await api.predictions(run.run, step)).predicted;
      }
      if (this.probesOnly.checked) only = await probes.load(run, step);
    } catch (error) {
      if (current()) this.status.set("error", `Could not load the eval images: ${errorText(error)}`);
      return;
    }
    if (!current()) return;
    const query = this.search.value;
    const matches = searchCorpus(corpus, query, { misclassifiedBy: predicted, only });
    const shown = matches.slice(0, this.shownCount);
    const what = [
      query.trim() ? `matching “${query.trim()}”` : "",
      predicted ? `misclassified at step ${step}` : "",
      only ? "probe images" : "",
    ]
      .filter(Boolean)
      .join(", ");
    if (!matches.length) {
      this.status.set("empty", `No eval image${what ? ` ${what}` : ""}.`);
    } else {
      this.status.set(
        "ready",
        `${matches.length} of ${corpus.count} eval images${what ? ` (${what})` : ""}${shown.length < matches.length ? `; showing ${shown.length}` : ""}. Click one to select it.`,
      );
    }
    this.more.hidden = shown.length >= matches.length;
    const key = `${run.run}|${shown.join(",")}`;
    if (key !== this.gridKey) {
      this.gridKey = key;
      const names = corpus.class_names;
      const items = shown.map((index) => {
        const id = corpus.ids?.[index];
        const title = `#${index} · ${className(names, corpus.labels[index])}${id !== undefined && id !== null ? ` · ${id}` : ""}${predicted ? ` · predicted ${className(names, predicted[index])}` : ""}`;
        const item = thumbnails.canvas(index, this.settings.size ?? 44, {
          testid: this.itemTestid,
          title,
          attrs: { role: "option", tabindex: 0 },
        });
        item.addEventListener("click", () => this.store.set({ image: index }));
        item.addEventListener("keydown", (event) => {
          if (event.key === "Enter") this.store.set({ image: index });
        });
        return item;
      });
      replaceChildren(this.grid, ...items);
    }
    this.mark();
  }

  private mark(): void {
    const image = String(this.store.get().image);
    for (const item of Array.from(this.grid.children)) {
      const selected = item.getAttribute("data-index") === image;
      item.classList.toggle("dv-selected", selected);
      item.setAttribute("aria-selected", selected ? "true" : "false");
    }
  }
}
