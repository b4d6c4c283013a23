// How a state field is spelled in the URL hash: one small codec per kind of value. A codec
// writes a value as one or more parameters and reads it back, answering undefined for an
// absent or malformed parameter (a hand-edited link is ignored, never thrown on). The names
// given here are the link format: changing one breaks existing links.

export interface HashCodec<T> {
  /** The hash parameters this codec reads and writes. */
  readonly params: readonly string[];
  /** Put `value` into `params`. */
  write(value: NonNullable<T>, params: URLSearchParams): void;
  /** The value `params` hold, or undefined when absent or malformed. */
  read(params: URLSearchParams): T | undefined;
}

/** Any non-empty text (run and layer names). */
export function text(name: string): HashCodec<string | null> {
  return {
    params: [name],
    write: (value, params) => params.set(name, value),
    read: (params) => params.get(name) || undefined,
  };
}

/** A non-negative integer (steps, indices). */
export function count(name: string): HashCodec<number | null> {
  return {
    params: [name],
    write: (value, params) => params.set(name, String(value)),
    read: (params) => {
      const value = params.get(name);
      return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
    },
  };
}

/** Two non-negative integers written "a,b" (a confusion matrix cell: true class, predicted class). */
export function pair(name: string): HashCodec<[number, number] | null> {
  return {
    params: [name],
    write: (value, params) => params.set(name, `${value[0]},${value[1]}`),
    read: (params) => {
      const match = /^(\d{1,9}),(\d{1,9})$/.exec(params.get(name) ?? "");
      return match ? [Number(match[1]), Number(match[2])] : undefined;
    },
  };
}

/** One of a fixed list of names. */
export function oneOf<T extends string>(name: string, options: readonly T[]): HashCodec<T> {
  return {
    params: [name],
    write: (value, params) => params.set(name, value),
    read: (params) => options.find((option) => option === params.get(name)),
  };
}

/**
 * A name made of lower-case letters, digits, "-" and "_" (a view's name: the list of views is
 * views/registry.ts, which the state does not import; an unknown name shows the first tab).
 */
export function identifier(name: string): HashCodec<string> {
  return {
    params: [name],
    write: (value, params) => params.set(name, value),
    read: (params) => {
      const value = params.get(name);
      return value !== null && /^[a-z][a-z0-9_-]{0,63}$/.test(value) ? value : undefined;
    },
  };
}

/** A toggle: "1"/"0" (also read: "true"/"false"). */
export function flag(name: string): HashCodec<boolean> {
  return {
    params: [name],
    write: (value, params) => params.set(name, value ? "1" : "0"),
    read: (params) => {
      const value = params.get(name);
      if (value === "1" || value === "true") return true;
      if (value === "0" || value === "false") return false;
      return undefined;
    },
  };
}

/**
 * A record of texts, one parameter per part (empty parts are left out); read when any of its
 * parameters is present, the missing parts then empty.
 */
export function parts<T extends Record<string, string>>(names: { readonly [K in keyof T]: string }): HashCodec<T> {
  const entries = Object.entries(names) as [keyof T & string, string][];
  return {
    params: entries.map(([, name]) => name),
    write: (value, params) => {
      for (const [part, name] of entries) if (value[part]) params.set(name, value[part]);
    },
    read: (params) => {
      if (!entries.some(([, name]) => params.has(name))) return undefined;
      return Object.fromEntries(entries.map(([part, name]) => [part, params.get(name) ?? ""])) as T;
    },
  };
}
