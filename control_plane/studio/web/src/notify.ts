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
const bell = h(
  "a",
  { href: "/studio/notifications", "data-link": true, class: "bell", "aria-label": "Notifications, 0 unread" },
  h("span", { "aria-hidden": "true" }, "🔔"),
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
