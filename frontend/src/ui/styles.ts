// The dashboard's shared style sheet (colours follow TensorBoard's light theme), and how a view,
// panel or chart adds its own rules: each keeps its CSS beside its code and inserts it with
// ensureStyles() when it is first built, so a new view brings its styles along. The iframe's
// CSP allows inline styles, not scripts.

/** Insert `css` as one <style> element named `name`, once per document. */
export function ensureStyles(name: string, css: string, doc: Document = document): void {
  if (doc.head.querySelector(`style[data-dv-styles="${name}"]`)) return;
  const style = doc.createElement("style");
  style.setAttribute("data-dv-styles", name);
  style.textContent = css;
  doc.head.appendChild(style);
}

/** The page frame (header, sidebar, tabs), controls, status lines, legends and thumbnails. */
export const BASE_STYLES = `
:root {
  --dv-accent: #f57c00;
  --dv-accent-soft: #ffe0b2;
  --dv-text: #212121;
  --dv-muted: #616161;
  --dv-border: #dadce0;
  --dv-panel: #f8f9fa;
  --dv-error: #c62828;
  --dv-select: #1565c0;
  --dv-sev-error: #c62828;
  --dv-sev-warning: #ef8f00;
  --dv-sev-info: #607d8b;
  font-family: Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 13px;
  color: var(--dv-text);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body.dv-body-root { margin: 0; background: #fff; }
.dv-app { display: flex; flex-direction: column; min-height: 100vh; }
.dv-header {
  position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px;
  padding: 8px 12px; background: #fff; border-bottom: 1px solid var(--dv-border);
}
.dv-body { display: flex; flex: 1; min-height: 0; }
.dv-sidebar { width: 250px; flex: none; border-right: 1px solid var(--dv-border); padding: 8px; overflow: auto; max-height: calc(100vh - 52px); position: sticky; top: 52px; }
.dv-main { flex: 1; min-width: 0; padding: 0 12px 24px; }
.dv-muted { color: var(--dv-muted); }
.dv-small { font-size: 11px; }
.dv-inline { display: inline-flex; align-items: center; gap: 4px; }
.dv-check { display: inline-flex; align-items: center; gap: 2px; cursor: pointer; }
h3 { font-size: 12px; font-weight: 500; text-transform: uppercase; letter-spacing: .04em; color: var(--dv-muted); margin: 12px 0 4px; }
select, input[type=search], input[type=text] { font: inherit; padding: 3px 4px; border: 1px solid var(--dv-border); border-radius: 3px; background: #fff; color: inherit; }
.dv-button, .dv-tab, .dv-chip, .dv-link { font: inherit; cursor: pointer; }
.dv-button { border: 1px solid var(--dv-border); background: #fff; border-radius: 3px; padding: 3px 8px; }
.dv-button:hover:not(:disabled) { border-color: var(--dv-accent); }
.dv-button:disabled { opacity: .45; cursor: default; }
.dv-button[aria-pressed=true] { background: var(--dv-accent-soft); border-color: var(--dv-accent); }
.dv-icon { min-width: 30px; font-size: 15px; line-height: 18px; }
.dv-link { border: none; background: none; color: var(--dv-select); padding: 0; text-decoration: underline; }
.dv-timeline { display: flex; align-items: center; gap: 8px; flex: 1; min-width: 420px; }
.dv-timeline-buttons { display: flex; gap: 2px; }
.dv-slider { flex: 1; min-width: 120px; accent-color: var(--dv-accent); }
.dv-step { font-variant-numeric: tabular-nums; white-space: nowrap; }
.dv-step-value { font-weight: 600; font-size: 15px; }
.dv-poll { display: flex; align-items: center; gap: 6px; }
.dv-tabs { display: flex; gap: 2px; border-bottom: 1px solid var(--dv-border); margin-bottom: 8px; position: sticky; top: 52px; background: #fff; z-index: 5; }
.dv-tab { border: none; background: none; padding: 10px 14px; color: var(--dv-muted); border-bottom: 2px solid transparent; text-transform: uppercase; font-size: 12px; letter-spacing: .04em; }
.dv-tab-active { color: var(--dv-text); border-bottom-color: var(--dv-accent); }
.dv-toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 6px 0; }
.dv-toolbar h3 { margin: 0; }
.dv-status { padding: 4px 8px; margin: 4px 0; border-left: 3px solid var(--dv-border); background: var(--dv-panel); color: var(--dv-muted); min-height: 24px; }
.dv-status[data-state=loading] { border-left-color: var(--dv-accent); }
.dv-status[data-state=ready] { border-left-color: #43a047; }
.dv-status-error, .dv-status[data-state=error] { color: var(--dv-error); border-left-color: var(--dv-error); }
.dv-panel { background: var(--dv-panel); border: 1px solid var(--dv-border); border-radius: 4px; padding: 6px 8px; }
.dv-facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
.dv-facts dt { color: var(--dv-muted); }
.dv-facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.dv-thumb { image-rendering: pixelated; display: block; background: #ddd; }
.dv-thumb-missing { outline: 1px dashed var(--dv-error); }
.dv-corpus-grid .dv-thumb, .dv-strip .dv-thumb, .dv-examples .dv-thumb { cursor: pointer; outline-offset: 1px; }
.dv-thumb.dv-selected, .dv-chip.dv-selected { outline: 3px solid var(--dv-select); }
.dv-thumb:hover { outline: 2px solid var(--dv-accent); }
.dv-chip { border: 1px solid var(--dv-border); background: #fff; padding: 1px; border-radius: 3px; line-height: 0; }
.dv-swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; display: inline-block; }
.dv-swatch-wide { width: 36px; }
.dv-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; font-size: 11px; margin: 4px 0; max-width: 520px; }
.dv-legend-item { display: inline-flex; align-items: center; gap: 4px; }
.dv-sev-error { --dv-sev: var(--dv-sev-error); }
.dv-sev-warning { --dv-sev: var(--dv-sev-warning); }
.dv-sev-info { --dv-sev: var(--dv-sev-info); }
.dv-sev-badge { display: inline-block; flex: none; min-width: 14px; padding: 0 5px; border-radius: 8px; background: var(--dv-sev, var(--dv-muted)); color: #fff; font-size: 10px; font-weight: 600; line-height: 15px; text-align: center; text-transform: uppercase; letter-spacing: .03em; }
.dv-slider-box { flex: 1; min-width: 120px; position: relative; display: flex; align-items: center; }
.dv-slider-box .dv-slider { flex: 1; min-width: 0; margin: 0; }
.dv-ticks { position: absolute; left: 0; right: 0; bottom: -7px; height: 6px; pointer-events: none; }
.dv-tick { position: absolute; top: 0; width: 3px; height: 6px; margin-left: -1px; border-radius: 1px; background: var(--dv-sev, var(--dv-muted)); pointer-events: auto; cursor: pointer; }
`;
