// The base of a tab's view: it builds into the tab panel main.ts made for it, shows and hides
// that panel with the tab, and redraws (the playback gate waiting) on the state fields it
// names. The run gate and the staleness guard every view uses are in core/guards.ts.

import type { AppContext } from "../core/context";
import { Part } from "../core/part";
import type { Key } from "../core/state";

/**
 * A tab's view: `root` is the tab panel main.ts made for it (hidden while another tab is
 * open); the view builds its content into it.
 */
export abstract class TabView extends Part {
  constructor(
    protected readonly ctx: AppContext,
    readonly root: HTMLElement,
  ) {
    super(ctx.store);
  }

  protected override activeChanged(active: boolean): void {
    this.root.hidden = !active;
  }

  /** Call `load` after a change of `keys` while open, the playback gate waiting for what it returns. */
  protected watchFrame(keys: readonly Key[], load: () => Promise<unknown>): void {
    this.watch(keys, () => void this.ctx.gate.track(load()));
  }
}
