// How numbers are written on the page: a few significant digits, NaN and +/-Inf by name, and
// shares as percentages. DOM-free.

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return "–";
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(Math.max(digits - 2, 1));
  return Number(value.toPrecision(digits)).toString();
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return "–";
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return `${(value * 100).toFixed(digits)}%`;
}
