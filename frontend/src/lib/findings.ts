// Findings as the page shows them: their order, the worst of several (a layer's badge, a folded
// group's, a timeline tick's), what to call their steps, and the counts of the panel's summary.
// DOM-free; the findings themselves come from the `findings` route.

import type { Finding, Severity } from "../api/types";

/** Worst first, as the route orders them. */
export const SEVERITIES: readonly Severity[] = ["error", "warning", "info"];

/** 0 for an error, 1 for a warning, 2 for information; an unknown severity after them. */
export function severityRank(severity: string): number {
  const rank = SEVERITIES.indexOf(severity as Severity);
  return rank < 0 ? SEVERITIES.length : rank;
}

/** Ordered by severity, then step (then as given): the route's order, kept whatever the answer's. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort(
      (a, b) =>
        severityRank(a.finding.severity) - severityRank(b.finding.severity) ||
        a.finding.step - b.finding.step ||
        a.index - b.index,
    )
    .map(({ finding }) => finding);
}

/** The worst severity among `findings`, or null for none. */
export function worstSeverity(findings: readonly Finding[]): Severity | null {
  let worst: Severity | null = null;
  for (const { severity } of findings) {
    if (severityRank(severity) >= SEVERITIES.length) continue;
    if (worst === null || severityRank(severity) < severityRank(worst)) worst = severity;
  }
  return worst;
}

/** Whether any finding is a warning or an error (the panel then opens by itself). */
export function isAlarming(findings: readonly Finding[]): boolean {
  return findings.some((finding) => finding.severity === "error" || finding.severity === "warning");
}

/** Each layer's findings, worst first; findings about no layer are left out. */
export function findingsByLayer(findings: readonly Finding[]): Map<string, Finding[]> {
  const byLayer = new Map<string, Finding[]>();
  for (const finding of sortFindings(findings)) {
    if (finding.layer === null || finding.layer === undefined) continue;
    byLayer.set(finding.layer, [...(byLayer.get(finding.layer) ?? []), finding]);
  }
  return byLayer;
}

/** The findings starting at each step, worst first, in step order. */
export function findingsByStep(findings: readonly Finding[]): [number, Finding[]][] {
  const byStep = new Map<number, Finding[]>();
  for (const finding of sortFindings(findings)) {
    if (!Number.isFinite(finding.step)) continue;
    byStep.set(finding.step, [...(byStep.get(finding.step) ?? []), finding]);
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]);
}

/** "step 40", or "steps 40–90" when it lasted. */
export function stepsText(finding: Pick<Finding, "step" | "last_step">): string {
  return finding.last_step !== undefined && finding.last_step !== finding.step
    ? `steps ${finding.step}–${finding.last_step}`
    : `step ${finding.step}`;
}

/** "1 error · 2 warnings · 1 info"; "" for none. */
export function countsText(findings: readonly Finding[]): string {
  const parts: string[] = [];
  for (const severity of SEVERITIES) {
    const count = findings.filter((finding) => finding.severity === severity).length;
    if (!count) continue;
    parts.push(`${count} ${severity === "info" ? "info" : `${severity}${count === 1 ? "" : "s"}`}`);
  }
  return parts.join(" · ");
}

/** One line per finding, worst first: a badge's or a tick's title. */
export function findingsTitle(findings: readonly Finding[]): string {
  return sortFindings(findings)
    .map((finding) => `${finding.severity} (${stepsText(finding)}): ${finding.message}`)
    .join("\n");
}
