// A layer's `units_history` (every unit's selectivity and top-image stability over the
// checkpoints), loaded once per run, layer and units version, for the unit panel and the Units
// view alike: the answer is kept only while it belongs to what is shown, and a newer request
// makes an older one's answer stale.

import type { Api } from "../api/client";
import type { UnitsHistoryResponse } from "../api/types";
import { Latest } from "../core/guards";

export class UnitsHistory {
  private loaded: { key: string; answer: UnitsHistoryResponse } | null = null;
  private readonly loads = new Latest();

  constructor(private readonly api: Api) {}

  /** The answer for this run, layer and units version; null until it has loaded (or when it failed). */
  answer(run: string, layer: string, version: string): UnitsHistoryResponse | null {
    return this.loaded?.key === historyKey(run, layer, version) ? this.loaded.answer : null;
  }

  /**
   * Load it unless it is here already. Resolves true when what `answer` gives changed (draw
   * again), false when it was already loaded or a newer request took over.
   */
  async load(run: string, layer: string, version: string): Promise<boolean> {
    const key = historyKey(run, layer, version);
    if (this.loaded?.key === key) return false;
    const current = this.loads.start();
    try {
      const answer = await this.api.unitsHistory(run, layer, version);
      if (!current()) return false;
      this.loaded = { key, answer };
    } catch {
      if (!current()) return false;
      this.loaded = null;
    }
    return true;
  }
}

function historyKey(run: string, layer: string, version: string): string {
  return `${run}\u0000${layer}\u0000${version}`;
}
