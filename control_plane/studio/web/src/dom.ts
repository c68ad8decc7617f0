// A few helpers to build the DOM without a framework: h() makes an element, text is always
// text (never parsed as HTML), so nothing a user wrote can become markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** A link inside the app: the router handles it without a page load. */
export function link(href: string, ...children: (Child | Child[])[]): HTMLAnchorElement {
  return h("a", { href, "data-link": true }, ...children);
}

export function field(
  label: string,
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement,
  hint?: string,
): HTMLElement {
  if (!input.id) input.id = `f-${Math.random().toString(36).slice(2, 10)}`;
  const parts: Child[] = [h("label", { for: input.id }, label), input];
  if (hint) {
    const hintId = `${input.id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId }, hint));
  }
  return h("div", { class: "field" }, ...parts);
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString();
}

let statusTimer = 0;
/** Tell the user something in the polite live region (screen readers read it too). */
export function announce(message: string, kind: "info" | "error" = "info"): void {
  const box = document.getElementById("status");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add("shown");
  window.clearTimeout(statusTimer);
  statusTimer = window.setTimeout(() => box.classList.remove("shown"), 5000);
}

/** A button that copies ``value`` to the clipboard. */
export function copyButton(label: string, value: () => string): HTMLButtonElement {
  return h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(value());
          announce(`${label}: copied`);
        } catch {
          announce(`${label}: select the text and copy it`, "error");
        }
      },
    },
    `Copy ${label.charAt(0).toLowerCase()}${label.slice(1)}`,
  );
}
