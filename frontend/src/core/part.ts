// The common behaviour of views and panels: each draws only while it is on screen, redraws when
// the state fields it depends on change, and catches up when it is shown again. A part that is
// hidden costs nothing while the timeline plays.

import type { View } from "./context";
import type { Key, Store } from "./store";

export abstract class Part implements View {
  private onScreen = false;

  constructor(protected readonly store: Store) {}

  /** Whether the part is on screen. */
  get active(): boolean {
    return this.onScreen;
  }

  setActive(active: boolean): void {
    const was = this.onScreen;
    this.onScreen = active;
    this.activeChanged(active);
    if (active && !was) this.refresh();
  }

  /** Draw from the current state (on being shown, and by default on every watched change). */
  protected abstract refresh(): void;

  /** Called on every setActive(), before refresh(): show or hide elements, pass it on to sub-parts. */
  protected activeChanged(_active: boolean): void {}

  /** After a change of one of `keys`, call `then` (refresh by default), only while on screen. */
  protected watch(keys: readonly Key[], then: () => void = () => this.refresh()): void {
    this.store.subscribe(() => {
      if (this.onScreen) then();
    }, keys);
  }
}
