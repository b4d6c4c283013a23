// Searching the corpus (the eval images): by class name, label, id, caption or index, and by
// "misclassified at this step".

import type { CorpusResponse } from "../api/types";

export interface SearchOptions {
  /** Predicted class of every eval image at the selected step: keep only misclassified ones. */
  misclassifiedBy?: readonly number[] | null;
  /** Keep only these images (e.g. the probe images, which have activations). */
  only?: ReadonlySet<number> | null;
}

function termMatches(corpus: CorpusResponse, index: number, term: string): boolean {
  const label = corpus.labels[index];
  const className = (corpus.class_names[label] ?? String(label)).toLowerCase();
  const id = corpus.ids ? String(corpus.ids[index] ?? "").toLowerCase() : "";
  const caption = corpus.captions ? String(corpus.captions[index] ?? "").toLowerCase() : "";
  if (term.startsWith("#") && /^#\d+$/.test(term)) return index === Number(term.slice(1));
  const colon = term.indexOf(":");
  if (colon > 0) {
    const field = term.slice(0, colon);
    const value = term.slice(colon + 1);
    if (field === "label" || field === "class") return className === value || String(label) === value;
    if (field === "id") return id.includes(value);
    if (field === "caption") return caption.includes(value);
    if (field === "index") return String(index) === value;
  }
  return (
    className.includes(term) ||
    id.includes(term) ||
    caption.includes(term) ||
    String(label) === term ||
    String(index) === term
  );
}

/**
 * Eval-image indices matching `query` (every whitespace-separated term must match,
 * case-insensitively): a term matches an image whose class name, id or caption contains it, or
 * whose label or index equals it; `#12` is index 12, `label:cat` / `class:3` a class,
 * `id:abc` and `caption:...` one field.
 */
export function searchCorpus(corpus: CorpusResponse, query: string, options: SearchOptions = {}): number[] {
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const result: number[] = [];
  const predicted = options.misclassifiedBy ?? null;
  for (let index = 0; index < corpus.labels.length; index += 1) {
    if (options.only && !options.only.has(index)) continue;
    if (predicted && predicted[index] === corpus.labels[index]) continue;
    if (terms.every((term) => termMatches(corpus, index, term))) result.push(index);
  }
  return result;
}

/** How a class is named on the page ("3" when the run logged no names). */
export function className(names: readonly string[], label: number): string {
  return names[label] ?? String(label);
}
