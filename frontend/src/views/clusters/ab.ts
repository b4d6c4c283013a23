// The Clusters view's A/B mode, DOM-free: K-Means numbers its clusters arbitrarily, so cluster 0
// of A and cluster 0 of B need not hold the same eval images. B's clusters are paired with A's
// by how many eval images they share (largest overlaps first, each A cluster paired once), and
// a B cluster is drawn in its partner's colour, so that the same images look alike on both sides.

/** How B's clusters relate to A's. */
export interface ClusterPairing {
  /** For each B cluster, the A cluster it shares the most images with (paired once), or null. */
  partner: (number | null)[];
  /** For each B cluster, the images it shares with its partner (0 without one). */
  shared: number[];
  /** For each B cluster, its colour index: its partner's, or one after every A cluster's. */
  colour: number[];
}

/**
 * Pair B's clusters with A's by the eval images they share: the pair sharing the most images
 * first, then the next among the clusters left (ties: lower A, then lower B cluster), each
 * cluster in at most one pair; pairs sharing no image are not made. `assignmentA[i]` and
 * `assignmentB[i]` are image i's clusters (negative: left out, e.g. NaN features).
 */
export function pairClusters(
  assignmentA: readonly number[],
  assignmentB: readonly number[],
  clustersA: number,
  clustersB: number,
): ClusterPairing {
  const overlap: number[][] = Array.from({ length: clustersB }, () => new Array<number>(clustersA).fill(0));
  const images = Math.min(assignmentA.length, assignmentB.length);
  for (let i = 0; i < images; i += 1) {
    const a = assignmentA[i];
    const b = assignmentB[i];
    if (a >= 0 && b >= 0 && a < clustersA && b < clustersB) overlap[b][a] += 1;
  }
  const candidates: [number, number, number][] = [];
  for (let b = 0; b < clustersB; b += 1)
    for (let a = 0; a < clustersA; a += 1) if (overlap[b][a] > 0) candidates.push([overlap[b][a], a, b]);
  candidates.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  const partner: (number | null)[] = new Array(clustersB).fill(null);
  const shared = new Array<number>(clustersB).fill(0);
  const takenA = new Set<number>();
  for (const [count, a, b] of candidates) {
    if (partner[b] !== null || takenA.has(a)) continue;
    partner[b] = a;
    shared[b] = count;
    takenA.add(a);
  }
  let spare = clustersA;
  const colour = partner.map((a) => (a === null ? spare++ : a));
  return { partner, shared, colour };
}

/** A/B: where two runs' eval sets differ (by size or labels), in words; null when they agree. */
export function evalSetDifference(labelsA: readonly number[], labelsB: readonly number[]): string | null {
  if (labelsA.length !== labelsB.length) return `${labelsA.length} and ${labelsB.length} eval images`;
  let differing = 0;
  for (let i = 0; i < labelsA.length; i += 1) if (labelsA[i] !== labelsB[i]) differing += 1;
  return differing ? `${differing} eval image${differing === 1 ? " has" : "s have"} other labels` : null;
}
