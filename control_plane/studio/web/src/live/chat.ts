// The live chat of a stream over its WebSocket: anyone reads, a signed-in user writes.

import { announce, h } from "../dom";
import { session } from "../session";

interface ChatEvent {
  type: string;
  id?: string;
  username?: string;
  text?: string;
  code?: string;
  detail?: string;
}

export function chatBox(streamId: string, signal: AbortSignal): HTMLElement {
  const log = h("ol", { class: "chat-log", "aria-live": "polite", "aria-label": "Chat messages" });
  const text = h("input", { maxlength: 500, "aria-label": "Message", autocomplete: "off" });
  const form = h("form", { class: "row" }, text, h("button", { type: "submit" }, "Send"));
  const box = h("section", { class: "card chat", "aria-label": "Live chat" }, h("h2", {}, "Chat"), log, form);
  let socket: WebSocket | null = null;
  let retry = 0;

  const connect = () => {
    if (signal.aborted) return;
    const url = new URL(`/api/v1/live/streams/${streamId}/chat`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const token = session.token();
    if (token) url.searchParams.set("access_token", token);
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retry = 0;
    });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(String(message.data)) as ChatEvent;
      if (event.type === "message") {
        log.append(h("li", { "data-id": event.id ?? "" }, h("strong", {}, event.username ?? ""), " ", event.text ?? ""));
        log.scrollTop = log.scrollHeight;
      } else if (event.type === "deleted") {
        log.querySelector(`[data-id="${CSS.escape(event.id ?? "")}"]`)?.remove();
      } else if (event.type === "error") {
        announce(event.detail ?? event.code ?? "The message was refused.", "error");
      }
    });
    socket.addEventListener("close", (event) => {
      if (signal.aborted) return;
      if (event.code === 4401) void session.refresh();
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry);
    });
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!text.value.trim() || socket?.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "message", text: text.value }));
    text.value = "";
  });
  signal.addEventListener("abort", () => socket?.close());
  connect();
  return box;
}
