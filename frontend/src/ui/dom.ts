// Small DOM helpers. Every text that can come from a log (class names, layer names, run names,
// ids, captions, error messages) reaches the page through textContent or attributes, never as
// HTML: nothing in this code base assigns innerHTML.

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  testid?: string;
  class?: string;
  text?: string | number;
  title?: string;
  attrs?: Record<string, string | number | boolean | null | undefined>;
  style?: Partial<Record<string, string>>;
  on?: Partial<Record<string, (event: Event) => void>>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.testid) element.setAttribute("data-testid", props.testid);
  if (props.class) element.className = props.class;
  if (props.title) element.title = props.title;
  if (props.attrs) setAttributes(element, props.attrs);
  if (props.style) Object.assign(element.style, props.style);
  if (props.on) {
    for (const [name, handler] of Object.entries(props.on)) if (handler) element.addEventListener(name, handler);
  }
  if (props.text !== undefined) element.textContent = String(props.text);
  append(element, ...children);
  return element;
}

export function setAttributes(
  element: Element,
  attrs: Record<string, string | number | boolean | null | undefined>,
): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) element.removeAttribute(name);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
}

/** Replace all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

export type StatusState = "loading" | "empty" | "error" | "ready";

/**
 * The `[data-testid="status"]` line of a view: loading, empty and error states in words (never
 * a blank area), with the state also in `data-state` for scripts.
 */
export class Status {
  readonly element: HTMLElement;

  constructor(testid = "status") {
    this.element = h("div", {
      testid,
      class: "dv-status",
      attrs: { role: "status", "aria-live": "polite", "data-state": "loading" },
    });
    this.set("loading", "Loading…");
  }

  set(state: StatusState, text: string): void {
    this.element.setAttribute("data-state", state);
    this.element.classList.toggle("dv-status-error", state === "error");
    this.element.textContent = text;
  }

  get state(): StatusState {
    return this.element.getAttribute("data-state") as StatusState;
  }
}

export function option(value: string, label: string, selected = false): HTMLOptionElement {
  const element = h("option", { text: label });
  element.value = value;
  element.selected = selected;
  return element;
}

export function select(
  testid: string,
  options: [string, string][],
  value: string,
  onChange: (value: string) => void,
  title?: string,
): HTMLSelectElement {
  const element = h("select", { testid, title, attrs: { "aria-label": title ?? testid } });
  for (const [optionValue, label] of options) element.appendChild(option(optionValue, label, optionValue === value));
  element.value = value;
  element.addEventListener("change", () => onChange(element.value));
  return element;
}

export function checkbox(
  testid: string,
  label: string,
  checked: boolean,
  onChange: (checked: boolean) => void,
): { label: HTMLLabelElement; input: HTMLInputElement } {
  const input = h("input", { testid, attrs: { type: "checkbox" } });
  input.checked = checked;
  input.addEventListener("change", () => onChange(input.checked));
  return { label: h("label", { class: "dv-check" }, input, " ", label), input };
}

/** Fill a <select> with options, keeping `value` selected when it is among them. */
export function setOptions(element: HTMLSelectElement, options: [string, string][], value: string): void {
  const current = [...element.options].map((o) => [o.value, o.textContent ?? ""]);
  if (JSON.stringify(current) !== JSON.stringify(options)) {
    replaceChildren(element, ...options.map(([optionValue, label]) => option(optionValue, label)));
  }
  element.value = value;
}

/**
 * Test ids with a suffix: a panel shown twice on a page (an A/B mode's two sides) names its
 * elements "filters-sprite" and "filters-sprite-b".
 */
export function testids(suffix = ""): (name: string) => string {
  return (name) => `${name}${suffix}`;
}

/** Whether a key event comes from a control that uses the keyboard itself. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "radio", "range", "button", "submit", "reset"].includes(target.type);
  }
  return false;
}
