// The one shared state of the dashboard: what is selected (run, layer, checkpoint step, image,
// filter), which view is open, and the toggles the views share. Views read it, change it with
// set(), and subscribe to the keys they depend on; nothing else holds selection state. Its
// fields, their defaults and their place in links are declared in state.ts.

import { initialState, type Key, type State } from "./state";

export type { Key, State };
export type Listener = (state: Readonly<State>, changed: ReadonlySet<Key>) => void;

/** Equal values: the same primitive, or objects with the same JSON. */
export function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Store {
  private state: State;
  private readonly listeners = new Set<{ keys: ReadonlySet<Key> | null; listener: Listener }>();
  private notifying = false;
  private pending = new Set<Key>();

  constructor(initial: Partial<State> = {}) {
    this.state = { ...initialState(), ...initial };
  }

  get(): Readonly<State> {
    return this.state;
  }

  /**
   * Apply a change; listeners hear about the keys whose values really changed, once per set().
   * A set() from inside a listener is applied at once and announced after the current round.
   */
  set(patch: Partial<State>): Set<Key> {
    const changed = new Set<Key>();
    const next = { ...this.state };
    for (const key of Object.keys(patch) as Key[]) {
      const value = patch[key];
      if (value === undefined) continue;
      if (!same(this.state[key], value)) {
        (next as Record<Key, unknown>)[key] = value;
        changed.add(key);
      }
    }
    if (changed.size === 0) return changed;
    this.state = next;
    for (const key of changed) this.pending.add(key);
    if (!this.notifying) this.flush();
    return changed;
  }

  /**
   * Call `listener` after every change of one of `keys` (every change when omitted).
   * Returns the function that unsubscribes.
   */
  subscribe(listener: Listener, keys?: readonly Key[]): () => void {
    const entry = { keys: keys ? new Set(keys) : null, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private flush(): void {
    this.notifying = true;
    try {
      while (this.pending.size > 0) {
        const changed = this.pending;
        this.pending = new Set();
        for (const { keys, listener } of [...this.listeners]) {
          if (keys && ![...changed].some((key) => keys.has(key))) continue;
          listener(this.state, changed);
        }
      }
    } finally {
      this.notifying = false;
    }
  }
}
