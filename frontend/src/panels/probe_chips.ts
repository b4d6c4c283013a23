// The run's probe images as a row of small thumbnails (chips): the images with activations and
// full class probabilities. Clicking one selects it; the selected one is marked.

import type { AppContext } from "../core/context";
import { MAIN, type Side } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import { h, replaceChildren, testids } from "../ui/dom";
import { ensureStyles } from "../ui/styles";
import { thumbnailsFor } from "../ui/thumbnails";

const CSS = `
.dv-chips { display: flex; flex-wrap: wrap; gap: 3px; align-items: center; margin-top: 6px; }
`;

export interface ProbeChipsSettings {
  /** Which run (default: the main selection). */
  side?: Side;
  /** Side of a chip's thumbnail in CSS pixels. */
  size?: number;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
}

export class ProbeChips extends Part {
  readonly element: HTMLElement;
  private readonly side: Side;
  private readonly loads = new Latest();

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    private readonly settings: ProbeChipsSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("probe-chips", CSS);
    this.side = settings.side ?? MAIN;
    this.element = h("div", { class: "dv-chips", testid: testids(settings.testidSuffix)("probe-images") });
    container.appendChild(this.element);
    this.watch(this.side.runKeys);
    this.watch(["image"], () => this.mark());
  }

  protected refresh(): void {
    void this.render();
  }

  private async render(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const run = this.side.run(state);
    let probes: ReadonlySet<number> = new Set();
    if (run) {
      try {
        probes = await this.ctx.probes.load(run, this.side.step(state));
      } catch {
        // unknown: no chips
      }
    }
    if (!current()) return;
    const key = `${run?.run ?? ""}:${[...probes].join(",")}`;
    if (this.element.getAttribute("data-key") === key) return this.mark();
    this.element.setAttribute("data-key", key);
    if (!run || !probes.size) {
      replaceChildren(this.element);
      return;
    }
    const thumbnails = thumbnailsFor(this.ctx, run);
    replaceChildren(
      this.element,
      h("span", { class: "dv-small dv-muted", text: "probe images: " }),
      ...[...probes].map((index) => {
        const chip = h("button", {
          class: "dv-chip",
          title: `image #${index}`,
          attrs: { type: "button", "data-index": index },
          on: { click: () => this.store.set({ image: index }) },
        });
        if (thumbnails && index < thumbnails.count) chip.append(thumbnails.canvas(index, this.settings.size ?? 28));
        else chip.textContent = `#${index}`;
        return chip;
      }),
    );
    this.mark();
  }

  private mark(): void {
    const image = String(this.store.get().image);
    for (const chip of Array.from(this.element.querySelectorAll("button"))) {
      chip.classList.toggle("dv-selected", chip.getAttribute("data-index") === image);
    }
  }
}
