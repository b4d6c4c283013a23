// The dashboard's style sheet, inserted as one <style> element by render() (the iframe's CSP
// allows inline styles, not scripts). Colours follow TensorBoard's light theme.

export const STYLES = `
:root {
  --dv-accent: #f57c00;
  --dv-accent-soft: #ffe0b2;
  --dv-text: #212121;
  --dv-muted: #616161;
  --dv-border: #dadce0;
  --dv-panel: #f8f9fa;
  --dv-error: #c62828;
  --dv-select: #1565c0;
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
.dv-sprite-stage { position: relative; display: inline-block; max-width: 100%; line-height: 0; }
.dv-sprite { image-rendering: pixelated; image-rendering: crisp-edges; max-width: none; cursor: crosshair; background: #404040; }
.dv-outline { position: absolute; pointer-events: none; border: 2px solid var(--dv-accent); box-shadow: 0 0 0 1px #fff; }
.dv-outline-pinned { border-color: var(--dv-select); }
.dv-filters-main { display: flex; gap: 16px; align-items: flex-start; }
.dv-filters-sprite { flex: 1; min-width: 0; overflow: auto; }
.dv-filters-side { width: 330px; flex: none; }
.dv-filters-side .dv-sprite-stage img { max-width: 100%; }
.dv-selected-image { display: flex; gap: 8px; align-items: flex-start; }
.dv-thumb { image-rendering: pixelated; display: block; background: #ddd; }
.dv-thumb-missing { outline: 1px dashed var(--dv-error); }
.dv-corpus-grid { display: flex; flex-wrap: wrap; gap: 3px; max-height: 360px; overflow: auto; padding: 2px; }
.dv-corpus-grid .dv-thumb, .dv-strip .dv-thumb, .dv-examples .dv-thumb { cursor: pointer; outline-offset: 1px; }
.dv-thumb.dv-selected, .dv-chip.dv-selected { outline: 3px solid var(--dv-select); }
.dv-thumb:hover { outline: 2px solid var(--dv-accent); }
.dv-search { min-width: 240px; }
.dv-chips { display: flex; flex-wrap: wrap; gap: 3px; align-items: center; margin-top: 6px; }
.dv-chip { border: 1px solid var(--dv-border); background: #fff; padding: 1px; border-radius: 3px; line-height: 0; }
.dv-histogram { margin-top: 6px; }
.dv-bar-row { display: grid; grid-template-columns: 90px 1fr 52px; gap: 6px; align-items: center; font-size: 11px; }
.dv-bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dv-bar-track { height: 10px; background: #eceff1; position: relative; }
.dv-bar { position: absolute; left: 0; top: 0; bottom: 0; background: #90a4ae; }
.dv-predicted .dv-bar { background: var(--dv-accent); }
.dv-true .dv-bar-label { font-weight: 600; }
.dv-bar-value { text-align: right; font-variant-numeric: tabular-nums; }
.dv-confusion-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-matrix { display: grid; gap: 1px; font-size: 11px; font-variant-numeric: tabular-nums; }
.dv-matrix-head { color: var(--dv-muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 2px; }
.dv-matrix-row { align-self: center; max-width: 160px; }
.dv-matrix-col { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; max-height: 90px; }
.dv-cell { min-width: 30px; height: 28px; display: flex; align-items: center; justify-content: center; cursor: pointer; border: 1px solid transparent; }
.dv-cell:hover { border-color: var(--dv-accent); }
.dv-cell-diagonal { box-shadow: inset 0 0 0 1px #78909c; }
.dv-cell-pinned { border: 2px solid var(--dv-select) !important; }
.dv-examples { flex: 1; min-width: 260px; }
.dv-examples-grid { display: flex; flex-wrap: wrap; gap: 3px; }
.dv-cluster-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-scatter-box { position: relative; flex: none; }
.dv-scatter { border: 1px solid var(--dv-border); cursor: crosshair; display: block; }
.dv-tooltip { position: absolute; pointer-events: none; background: #fff; border: 1px solid var(--dv-border); box-shadow: 0 2px 6px rgba(0,0,0,.2); padding: 4px; font-size: 11px; z-index: 3; line-height: 1.3; }
.dv-cards { flex: 1; min-width: 320px; display: flex; flex-direction: column; gap: 6px; max-height: 640px; overflow: auto; }
.dv-card { border: 1px solid var(--dv-border); border-radius: 4px; padding: 4px 6px; }
.dv-card-head { display: flex; gap: 8px; align-items: center; font-size: 12px; margin-bottom: 3px; }
.dv-swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; display: inline-block; }
.dv-swatch-wide { width: 36px; }
.dv-strip { display: flex; flex-wrap: wrap; gap: 2px; }
.dv-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; font-size: 11px; margin: 4px 0; max-width: 520px; }
.dv-legend-item { display: inline-flex; align-items: center; gap: 4px; }
.dv-compare-form { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: flex-end; }
.dv-compare-form label { display: flex; flex-direction: column; gap: 2px; font-size: 11px; color: var(--dv-muted); }
.dv-compare-form input { width: 150px; }
.dv-compare-grid { border-collapse: collapse; margin-top: 8px; }
.dv-compare-grid th { font-weight: 500; font-size: 11px; color: var(--dv-muted); padding: 4px; text-align: left; }
.dv-compare-grid td { padding: 3px; vertical-align: top; border: 1px solid #eee; }
.dv-compare-grid tr.dv-current th, .dv-compare-grid tr.dv-current td { background: #fff3e0; }
.dv-compare-cell { image-rendering: pixelated; max-width: 220px; max-height: 220px; display: block; cursor: pointer; background: #404040; }
.dv-chart { display: block; font-size: 11px; user-select: none; }
.dv-chart .dv-line { fill: none; stroke-width: 1.5px; }
.dv-chart .dv-line-selected { stroke-width: 3px; }
.dv-chart .dv-rule { stroke: var(--dv-accent); stroke-width: 1.5px; }
.dv-chart .dv-nan { fill: #d32f2f; }
.dv-chart .dv-inf { fill: #8e24aa; }
.dv-graph { font-size: 12px; position: relative; }
.dv-graph-edges { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
.dv-graph-list { position: relative; margin-left: 18px; }
.dv-graph-group { border-left: 1px dashed #cfd8dc; margin: 2px 0 2px 4px; padding-left: 6px; }
.dv-graph-group-head { display: flex; align-items: center; gap: 4px; border: none; background: none; padding: 2px 0; color: var(--dv-muted); cursor: pointer; font: inherit; width: 100%; text-align: left; }
.dv-graph-node { display: flex; align-items: baseline; gap: 6px; padding: 2px 6px; margin: 1px 0; border-radius: 3px; border: 1px solid transparent; background: none; width: 100%; text-align: left; font: inherit; color: var(--dv-muted); cursor: default; }
.dv-graph-node.dv-logged { color: var(--dv-text); background: #fff8e1; border-color: #ffe0b2; cursor: pointer; font-weight: 500; }
.dv-graph-node.dv-logged:hover { border-color: var(--dv-accent); }
.dv-graph-node.dv-selected { background: var(--dv-accent-soft); border-color: var(--dv-accent); }
.dv-graph-type { font-size: 10px; color: var(--dv-muted); font-weight: 400; }
.dv-graph-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
@media (max-width: 1100px) {
  .dv-filters-main { flex-direction: column; }
  .dv-filters-side { width: 100%; }
}
`;
