// The bell in the header: the unread count, live over the notifications WebSocket
// (GET /api/v1/notifications/stream, the access token as ?access_token=, the API's way for a
// browser, which cannot set headers on a WebSocket). One socket per signed-in tab; it reconnects
// with a backoff, asks for what it missed with ?after=, and on close 4401 (the token expired)
// refreshes the session first. The notifications page listens here for new entries too.

import { API } from "./api";
import { h } from "./dom";
import { type Me, session } from "./session";

export interface Notification {
  id: number;
  type: string;
  actor: { id: string; username: string } | null;
  actors: { id: string; username: string }[];
  subject: { type: string; id: string };
  context: { type: string; id: string } | null;
  count: number;
  read: boolean;
  created_at: string;
  text: string;
  data: Record<string, unknown>;
}

type Listener = (notification: Notification, replaces: number | null) => void;

const CLOSE_UNAUTHORIZED = 4401;
const listeners = new Set<Listener>();
const count = h("span", { class: "count", "data-unread": "0" }, "0");
/** A bell drawn in SVG (an emoji would need an emoji font). */
function icon(): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "bell-icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M12 2a6 6 0 0 0-6 6v4.6L4.3 16.3A1 1 0 0 0 5.2 18h13.6a1 1 0 0 0 .9-1.7L18 12.6V8a6 6 0 0 0-6-6zm-2.5 17a2.5 2.5 0 0 0 5 0z");
  svg.append(path);
  return svg;
}
const bell = h(
  "a",
  { href: "/studio/notifications", "data-link": true, class: "bell", "aria-label": "Notifications, 0 unread" },
  icon() as unknown as HTMLElement,
  count,
);
let socket: WebSocket | null = null;
let user: string | null = null;
let lastId = 0;
let retry = 0;
let timer = 0;

/** Show ``unread`` on the bell. */
export function setUnread(unread: number): void {
  count.textContent = unread > 99 ? "99+" : String(unread);
  count.dataset.unread = String(unread);
  bell.setAttribute("aria-label", `Notifications, ${unread} unread`);
  bell.classList.toggle("has-unread", unread > 0);
}

/** Call ``listener`` with each new notification while the socket is open; returns the unsubscribe. */
export function onNotification(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function close(): void {
  window.clearTimeout(timer);
  const old = socket;
  socket = null;
  old?.close(1000);
}

function connect(): void {
  const token = session.token();
  if (!token || !user) return;
  const url = new URL(`${API}/notifications/stream`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("access_token", token);
  if (lastId) url.searchParams.set("after", String(lastId));
  const ws = new WebSocket(url);
  socket = ws;
  bell.dataset.socket = "connecting";
  ws.addEventListener("open", () => {
    retry = 0;
    bell.dataset.socket = "open";
  });
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { event: string; unread: number; notification?: Notification; replaces?: number | null };
    setUnread(message.unread);
    if (message.event === "notification" && message.notification) {
      lastId = Math.max(lastId, message.notification.id);
      for (const listener of listeners) listener(message.notification, message.replaces ?? null);
    }
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return; // closed on purpose
    socket = null;
    bell.dataset.socket = "closed";
    const again = async () => {
      if (event.code === CLOSE_UNAUTHORIZED && !(await session.refresh())) return;
      if (!socket && user) connect();
    };
    // 1 s, 2 s, 4 s ... up to 30 s between tries.
    timer = window.setTimeout(() => void again(), Math.min(30_000, 1000 * 2 ** retry++));
  });
}

/** Mount the bell into the header's slot and keep its socket for the signed-in user. */
export function mountBell(me: Me | null): void {
  if (me?.id !== user) {
    close();
    user = me?.id ?? null;
    lastId = 0;
    retry = 0;
    setUnread(0);
    if (user) connect();
  }
  if (me) document.getElementById("slot-bell")?.replaceChildren(bell);
}
