// Findings: what the server's rules say is wrong with the selected run (NaN/Inf, exploding or
// vanishing gradients, dead units, confused classes...), above the tabs. Open by itself when the
// run has a warning or an error, one quiet line otherwise. Each finding names its severity, its
// steps and its message; one click opens its evidence (its link: the view, layer, step and
// selection that show it). Under a NaN/Inf, the layers whose statistics left their usual band
// before it, earliest first, each opening that layer's Training dynamics where it drifted. Loss
// spikes (answered beside the findings, not one of their kinds) follow them, with the same ranking.
// The answer goes into the store (`findings`) for the graph's badges and the timeline's ticks.

import { errorText } from "../../api/client";
import type { Finding, FindingsResponse, LeadLag, LossSpike } from "../../api/types";
import type { AppContext } from "../../core/context";
import { Latest, runGate } from "../../core/guards";
import { decodeHash, followLink } from "../../core/hash";
import { Part } from "../../core/part";
import { STATISTIC_NAMES, STATISTIC_SOURCES } from "../../generated/contract";
import { countsText, isAlarming, sortFindings, stepsText, worstSeverity } from "../../lib/findings";
import { h, replaceChildren } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";

const CSS = `
.dv-findings { margin: 8px 0 4px; padding: 4px 8px; border-left: 4px solid var(--dv-border); }
.dv-findings[data-worst=error] { border-left-color: var(--dv-sev-error); }
.dv-findings[data-worst=warning] { border-left-color: var(--dv-sev-warning); }
.dv-findings-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.dv-findings-head strong { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.dv-findings-summary[data-state=error] { color: var(--dv-error); }
.dv-findings-list { list-style: none; margin: 4px 0 2px; padding: 0; max-height: 240px; overflow: auto; }
.dv-finding { margin: 2px 0; }
.dv-finding-open { display: flex; align-items: baseline; gap: 8px; width: 100%; text-align: left; font: inherit; color: inherit; background: #fff; border: 1px solid var(--dv-border); border-radius: 3px; padding: 3px 6px; cursor: pointer; }
.dv-finding-open:hover { border-color: var(--dv-accent); }
.dv-finding-step { font-variant-numeric: tabular-nums; white-space: nowrap; color: var(--dv-muted); }
.dv-finding-layer { font-weight: 500; white-space: nowrap; }
.dv-finding-message { overflow-wrap: anywhere; }
.dv-finding-leads { margin: 2px 0 4px 24px; font-size: 12px; }
.dv-finding-leads ol { margin: 2px 0; padding-left: 20px; }
`;

export interface FindingsSettings {
  /** The label of a view (for "open in ..."), from the registry. */
  viewLabel?: (name: string) => string;
  /** Open a link (a URL hash); by default core/hash.followLink on this window. */
  navigate?: (link: string) => void;
}

/** The link that opens `entry`'s layer in Training dynamics where it left its band, at its statistic. */
export function leadLink(run: string, entry: LeadLag): string {
  const params = new URLSearchParams({ run, view: "dynamics", layer: entry.layer, step: String(entry.left_band_at) });
  if ((STATISTIC_NAMES as readonly string[]).includes(entry.statistic)) params.set("stat", entry.statistic);
  if ((STATISTIC_SOURCES as readonly string[]).includes(entry.source)) params.set("source", entry.source);
  return `#${params.toString()}`;
}

/** "3 steps before", "1 step before". */
function leadText(entry: LeadLag): string {
  return `${entry.source} ${entry.statistic} from step ${entry.left_band_at} (${entry.lead_steps} step${entry.lead_steps === 1 ? "" : "s"} before)`;
}

export class FindingsView extends Part {
  readonly element: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private readonly list: HTMLOListElement;
  private readonly loads = new Latest();
  private readonly viewLabel: (name: string) => string;
  private readonly navigate: (link: string) => void;
  /** Chosen by the toggle; null: open exactly when the run has a warning or an error. */
  private expanded: boolean | null = null;
  private shownRun: string | null = null;
  private failure = "";
  /** The loss spikes of `spikesRun`'s answer. */
  private spikes: LossSpike[] = [];
  private spikesRun: string | null = null;

  constructor(
    private readonly ctx: AppContext,
    root: HTMLElement,
    settings: FindingsSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("findings", CSS);
    this.viewLabel = settings.viewLabel ?? ((name) => name);
    this.navigate = settings.navigate ?? ((link) => followLink(ctx.store, link, window));
    this.summary = h("span", {
      testid: "findings-summary",
      class: "dv-findings-summary dv-muted",
      attrs: { role: "status", "aria-live": "polite" },
    });
    this.toggle = h("button", {
      testid: "findings-toggle",
      class: "dv-link",
      attrs: { type: "button", "aria-controls": "dv-findings-list" },
      on: {
        click: () => {
          this.expanded = !this.isExpanded();
          this.render();
        },
      },
    });
    this.list = h("ol", { testid: "findings-list", class: "dv-findings-list", attrs: { id: "dv-findings-list" } });
    this.element = h(
      "section",
      { testid: "findings", class: "dv-findings dv-panel", attrs: { "aria-label": "Findings" } },
      h("div", { class: "dv-findings-head" }, h("strong", { text: "Findings" }), this.summary, this.toggle),
      this.list,
    );
    root.appendChild(this.element);
    // A new listing (polling) may come with new findings: a live run can gain some.
    this.watch(["runs", "run", "loaded"], () => void this.load());
    this.watch(["findings"], () => this.render());
  }

  protected refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const { store, api } = this.ctx;
    const state = store.get();
    const gate = runGate(state);
    if (!gate.ok) {
      this.failure = "";
      store.set({ findings: null });
      this.render(gate.text, gate.state);
      return;
    }
    const run = gate.run.run;
    if (state.findings?.run !== run) {
      if (this.shownRun !== run) this.expanded = null;
      store.set({ findings: null });
      this.render("Looking for findings…", "loading");
    }
    let answer: FindingsResponse;
    try {
      answer = await api.findings(run);
    } catch (error) {
      if (!current()) return;
      this.failure = `Could not look for findings: ${errorText(error)}`;
      this.render();
      return;
    }
    if (!current()) return;
    this.failure = "";
    const findings = Array.isArray(answer.findings) ? sortFindings(answer.findings) : [];
    this.spikes = Array.isArray(answer.loss_spikes) ? answer.loss_spikes : [];
    this.spikesRun = run;
    if (store.set({ findings: { run, findings } }).size === 0) this.render();
  }

  /** The findings of the selected run, or null while none have arrived. */
  private findings(): Finding[] | null {
    const state = this.store.get();
    return state.findings && state.findings.run === state.run ? state.findings.findings : null;
  }

  private isExpanded(): boolean {
    return this.expanded ?? isAlarming(this.findings() ?? []);
  }

  private render(text?: string, state: "loading" | "empty" = "loading"): void {
    const findings = this.findings();
    const run = this.store.get().run;
    if (findings !== null) this.shownRun = run;
    const worst = findings ? worstSeverity(findings) : null;
    this.element.setAttribute("data-worst", worst ?? "none");
    this.element.setAttribute("data-count", String(findings?.length ?? 0));
    const spikes = findings !== null && this.spikesRun === run ? this.spikes : [];
    const shown = (findings?.length ?? 0) + spikes.length;
    const expanded = findings !== null && shown > 0 && this.isExpanded();
    let summary: string;
    let summaryState: string;
    if (findings === null) {
      summary = this.failure || text || "Looking for findings…";
      summaryState = this.failure ? "error" : state;
    } else {
      summaryState = this.failure ? "error" : "ready";
      const spikesText = spikes.length ? `${spikes.length} loss spike${spikes.length === 1 ? "" : "s"}` : "";
      summary = findings.length
        ? `${countsText(findings)}${spikesText ? ` · ${spikesText}` : ""}${isAlarming(findings) ? "" : " · nothing wrong now"}`
        : spikesText || "No findings: nothing in this run's numbers looks wrong.";
      if (this.failure) summary += ` · ${this.failure}`;
    }
    this.summary.textContent = summary;
    this.summary.setAttribute("data-state", summaryState);
    this.toggle.hidden = shown === 0;
    this.toggle.textContent = expanded ? "hide" : "show";
    this.toggle.setAttribute("aria-expanded", expanded ? "true" : "false");
    this.list.hidden = !expanded;
    replaceChildren(
      this.list,
      ...(expanded && findings
        ? [...findings.map((finding) => this.item(finding)), ...spikes.map((spike) => this.spikeItem(spike))]
        : []),
    );
  }

  /** A loss spike: its steps and message (one click opens Training dynamics there), then its lead-lag ranking. */
  private spikeItem(spike: LossSpike): HTMLElement {
    const open = h(
      "button",
      {
        testid: "finding-open",
        class: "dv-finding-open",
        title: `Open the evidence in ${this.viewLabel("dynamics")}`,
        attrs: { type: "button" },
        on: { click: () => this.navigate(spike.link) },
      },
      h("span", { testid: "finding-severity", class: "dv-sev-badge dv-sev-info", text: "loss" }),
      h("span", { testid: "finding-step", class: "dv-finding-step", text: stepsText(spike) }),
      h("span", { testid: "finding-message", class: "dv-finding-message", text: spike.message }),
    );
    return h(
      "li",
      {
        testid: "loss-spike",
        class: "dv-finding dv-sev-info",
        attrs: { "data-step": spike.step, "data-last-step": spike.last_step },
      },
      open,
      this.leads(Array.isArray(spike.lead_lag) ? spike.lead_lag : []),
    );
  }

  /** The layers whose statistics left their usual band before an event, each opening its dynamics there. */
  private leads(leads: LeadLag[]): HTMLElement | null {
    if (!leads.length) return null;
    const run = this.store.get().run ?? "";
    return h(
      "div",
      { testid: "finding-leads", class: "dv-finding-leads" },
      h("span", {
        class: "dv-muted",
        text: "Layers whose statistics left their usual band before it, earliest first:",
      }),
      h(
        "ol",
        {},
        ...leads.map((entry) =>
          h(
            "li",
            {},
            h("button", {
              testid: "finding-lead",
              class: "dv-link",
              text: entry.layer,
              title: `Open ${entry.layer} in ${this.viewLabel("dynamics")} at step ${entry.left_band_at}`,
              attrs: { type: "button", "data-layer": entry.layer, "data-step": entry.left_band_at },
              on: { click: () => this.navigate(leadLink(run, entry)) },
            }),
            h("span", { class: "dv-muted", text: ` · ${leadText(entry)}` }),
          ),
        ),
      ),
    );
  }

  private item(finding: Finding): HTMLElement {
    const view = decodeHash(finding.link).view;
    const open = h(
      "button",
      {
        testid: "finding-open",
        class: "dv-finding-open",
        title: view ? `Open the evidence in ${this.viewLabel(view)}` : "Open the evidence",
        attrs: { type: "button" },
        on: { click: () => this.navigate(finding.link) },
      },
      h("span", {
        testid: "finding-severity",
        class: `dv-sev-badge dv-sev-${finding.severity}`,
        text: finding.severity,
      }),
      h("span", { testid: "finding-step", class: "dv-finding-step", text: stepsText(finding) }),
      // The layer, unless the message already begins with it ("conv1: its weights ...").
      finding.layer && !finding.message.startsWith(finding.layer)
        ? h("span", { testid: "finding-layer", class: "dv-finding-layer", text: finding.layer })
        : null,
      h("span", { testid: "finding-message", class: "dv-finding-message", text: finding.message }),
    );
    const leads =
      finding.kind === "nan_inf" && Array.isArray(finding.evidence?.lead_lag) ? finding.evidence.lead_lag : [];
    return h(
      "li",
      {
        testid: "finding",
        class: `dv-finding dv-sev-${finding.severity}`,
        attrs: {
          "data-kind": finding.kind,
          "data-severity": finding.severity,
          "data-step": finding.step,
          "data-last-step": finding.last_step,
          "data-layer": finding.layer,
        },
      },
      open,
      this.leads(leads),
    );
  }
}
