// Direct Compare's axis selections, checked in the page before asking the server (mirrors
// tensorboard_deepviz.server.params: select_values, select_names, select_indices), so that a typo
// is explained at once instead of becoming failed requests.
//   steps:   "500", "100:900" (inclusive, open ends allowed), "0,500"; empty = all
//   layers:  "conv1", "conv1:fc1" (inclusive range in layer order), "a,b"; empty = all
//   filters: "3", "0:7" (inclusive), "1,4,9"; empty = all

export class SelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SelectionError";
  }
}

function toInt(text: string, name: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d{1,18}$/.test(trimmed)) throw new SelectionError(`${name}: ${JSON.stringify(text)} is not an integer`);
  return Number(trimmed);
}

export function selectValues(spec: string, available: readonly number[], name: string): number[] {
  const text = spec.trim();
  if (!text) return [...available];
  if (text.includes(":")) {
    const [lowText, highText] = [text.slice(0, text.indexOf(":")), text.slice(text.indexOf(":") + 1)];
    const low = lowText.trim() ? toInt(lowText, name) : null;
    const high = highText.trim() ? toInt(highText, name) : null;
    return available.filter((value) => (low === null || value >= low) && (high === null || value <= high));
  }
  const wanted = text.split(",").map((part) => toInt(part, name));
  const missing = wanted.filter((value) => !available.includes(value));
  if (missing.length)
    throw new SelectionError(`${name} ${missing.join(", ")} not available; available: ${available.join(", ")}`);
  return [...new Set(wanted)];
}

export function selectNames(spec: string, available: readonly string[], name: string): string[] {
  const text = spec.trim();
  if (!text) return [...available];
  const position = (value: string) => {
    const index = available.indexOf(value);
    if (index < 0)
      throw new SelectionError(`unknown ${name} ${JSON.stringify(value)}; available: ${available.join(", ")}`);
    return index;
  };
  if (text.includes(":")) {
    const lowText = text.slice(0, text.indexOf(":")).trim();
    const highText = text.slice(text.indexOf(":") + 1).trim();
    const low = lowText ? position(lowText) : 0;
    const high = highText ? position(highText) : available.length - 1;
    return available.slice(low, high + 1);
  }
  const wanted = text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  wanted.forEach(position);
  return [...new Set(wanted)];
}

export function selectIndices(spec: string, count: number, name: string, limit: number): number[] {
  const text = spec.trim();
  let selected: number[];
  if (!text) {
    selected = Array.from({ length: count }, (_, i) => i);
  } else if (text.includes(":")) {
    const lowText = text.slice(0, text.indexOf(":"));
    const highText = text.slice(text.indexOf(":") + 1);
    const low = lowText.trim() ? toInt(lowText, name) : 0;
    const high = highText.trim() ? toInt(highText, name) : count - 1;
    if (low < 0 || high < low)
      throw new SelectionError(`${name}: ${JSON.stringify(text)} is an empty or negative range`);
    if (low >= count) throw new SelectionError(`${name}: ${JSON.stringify(text)} selects nothing from ${count}`);
    selected = [];
    for (let i = low; i <= Math.min(high, count - 1); i += 1) selected.push(i);
  } else {
    selected = [...new Set(text.split(",").map((part) => toInt(part, name)))];
    const outside = selected.filter((i) => i < 0 || i >= count);
    if (outside.length) throw new SelectionError(`${name} ${outside.slice(0, 10).join(", ")} outside 0..${count - 1}`);
  }
  if (selected.length > limit)
    throw new SelectionError(`${name}: ${selected.length} selected; at most ${limit} are allowed`);
  return selected;
}

/** Up to `count` values spread evenly over `values` (first and last included). */
export function spread<T>(values: readonly T[], count: number): T[] {
  if (values.length <= count) return [...values];
  if (count <= 1) return values.slice(-1);
  const picked: T[] = [];
  for (let i = 0; i < count; i += 1) picked.push(values[Math.round((i * (values.length - 1)) / (count - 1))]);
  return [...new Set(picked)];
}
