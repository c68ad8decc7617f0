// Go live: create a stream, the RTMP server and key (copy, rotate), a live preview over WHEP,
// the chat and the viewer count; or publish from this browser's camera over WHIP.

import { type Page, api, explain, query } from "../api";
import { announce, copyButton, field, h, link, when } from "../dom";
import { chatBox } from "../live/chat";
import { type Session, whepPlay, whipPublish } from "../live/webrtc";
import { type PageContext, navigate } from "../router";
import { session } from "../session";

export const title = "Go live";

interface Stream {
  id: string;
  title: string;
  status: string;
  viewers: number;
  started_at: string | null;
  recording_video_id: string | null;
  rtmp_url: string;
  playback: { hls: string; whep: string };
}

interface Created extends Stream {
  stream_key: string;
  whip_url: string;
}

/** Stream keys are shown once, when made or rotated: kept here (in memory) for this visit. */
const keys = new Map<string, string>();

async function list(ctx: PageContext): Promise<void> {
  const titleInput = h("input", { name: "title", required: true, maxlength: 200 });
  const form = h("form", { class: "card", "aria-label": "New stream" }, field("Stream title", titleInput), h("button", { type: "submit" }, "Create stream"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api<Created>("/live/streams", { json: { title: titleInput.value } });
      keys.set(made.id, made.stream_key);
      navigate(`/live/${made.id}`);
    } catch (err) {
      announce(explain(err), "error");
    }
  });
  ctx.main.append(h("h1", {}, "Go live"), form);
  const mine = await api<Page<Stream>>(`/live/streams${query({ limit: 50 })}`);
  if (mine.items.length) {
    ctx.main.append(
      h("h2", {}, "Your streams"),
      h("ul", { class: "results" }, ...mine.items.map((s) => h("li", {}, link(`/studio/live/${s.id}`, s.title), ` · ${s.status}`, s.started_at ? ` · ${when(s.started_at)}` : ""))),
    );
  }
}

function keyPanel(stream: Stream): HTMLElement {
  const keyInput = h("input", { readonly: true, type: "password", "aria-label": "Stream key", value: keys.get(stream.id) ?? "" });
  const reveal = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, "Show key");
  reveal.addEventListener("click", () => {
    const shown = keyInput.type === "text";
    keyInput.type = shown ? "password" : "text";
    reveal.textContent = shown ? "Show key" : "Hide key";
    reveal.setAttribute("aria-pressed", String(!shown));
  });
  const hint = h("small", {}, keys.has(stream.id) ? "Keep it secret: anyone with it can stream as you." : "The key is shown only when made: rotate to get a new one.");
  const rotate = h("button", { type: "button", class: "secondary" }, "Rotate key");
  rotate.addEventListener("click", async () => {
    if (!confirm("Make a new key? The current one stops working.")) return;
    try {
      const out = await api<{ stream_key: string }>(`/live/streams/${stream.id}/rotate-key`, { method: "POST" });
      keys.set(stream.id, out.stream_key);
      keyInput.value = out.stream_key;
      hint.textContent = "New key made; the old one no longer works.";
    } catch (err) {
      announce(explain(err), "error");
    }
  });
  const server = h("input", { readonly: true, value: stream.rtmp_url, "aria-label": "RTMP server URL" });
  return h(
    "section",
    { class: "card", "aria-labelledby": "rtmp-h" },
    h("h2", { id: "rtmp-h" }, "Stream from OBS or ffmpeg"),
    h("div", { class: "row" }, h("label", {}, "Server ", server), copyButton("Server URL", () => server.value)),
    h("div", { class: "row" }, h("label", {}, "Key ", keyInput), reveal, copyButton("Key", () => keyInput.value), rotate),
    hint,
  );
}

function preview(stream: Stream, signal: AbortSignal): { box: HTMLElement; start(): Promise<void> } {
  const video = h("video", { autoplay: true, muted: true, playsinline: true, controls: true, "aria-label": "Live preview" });
  const state = h("p", { class: "state" }, "The preview starts when the stream is live.");
  let current: Session | null = null;
  const box = h("section", { class: "card", "aria-labelledby": "preview-h" }, h("h2", { id: "preview-h" }, "Preview"), video, state);
  signal.addEventListener("abort", () => void current?.stop());
  return {
    box,
    async start() {
      if (current) return;
      state.textContent = "Connecting…";
      try {
        current = await whepPlay(stream.playback.whep, video);
        video.dataset.whep = "connected";
        state.textContent = "Live preview (WebRTC)";
      } catch (err) {
        state.textContent = `Preview unavailable: ${explain(err)}`;
        current = null;
      }
    },
  };
}

function browserPublish(stream: Stream, signal: AbortSignal): HTMLElement {
  const button = h("button", { type: "button" }, "Go live from this browser");
  const state = h("small", {});
  let current: Session | null = null;
  let media: MediaStream | null = null;
  const stop = async () => {
    await current?.stop();
    media?.getTracks().forEach((t) => t.stop());
    current = null;
    media = null;
    button.textContent = "Go live from this browser";
  };
  button.addEventListener("click", async () => {
    if (current) {
      await stop();
      state.textContent = "Stopped.";
      return;
    }
    try {
      media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      current = await whipPublish(`${location.origin}/api/v1/live/streams/${stream.id}/whip`, media, session.token() ?? "");
      button.textContent = "Stop";
      state.textContent = "Publishing from the camera (WebRTC).";
    } catch (err) {
      state.textContent = `Could not publish: ${explain(err)}`;
      media?.getTracks().forEach((t) => t.stop());
      media = null;
    }
  });
  signal.addEventListener("abort", () => void stop());
  return h("section", { class: "card", "aria-labelledby": "whip-h" }, h("h2", { id: "whip-h" }, "Or use your camera"), button, " ", state);
}

async function room(ctx: PageContext, id: string): Promise<void> {
  let stream = await api<Stream>(`/live/streams/${encodeURIComponent(id)}`);
  const status = h("span", { class: "badge", "data-status": stream.status }, stream.status);
  const viewers = h("span", { class: "viewers" }, "0 watching");
  const player = preview(stream, ctx.signal);
  ctx.main.append(
    h("h1", {}, stream.title),
    h("p", { class: "row" }, status, viewers, link("/studio/live", "All streams")),
    h("div", { class: "live-grid" }, h("div", {}, player.box, keyPanel(stream), browserPublish(stream, ctx.signal)), chatBox(stream.id, ctx.signal)),
  );
  const paint = () => {
    status.textContent = stream.status;
    status.dataset.status = stream.status;
    viewers.textContent = `${stream.viewers} watching`;
    if (stream.status === "live") void player.start();
  };
  paint();
  const poll = window.setInterval(async () => {
    try {
      stream = await api<Stream>(`/live/streams/${encodeURIComponent(id)}`);
      paint();
    } catch {
      /* the next poll tries again */
    }
  }, 2000);
  ctx.signal.addEventListener("abort", () => window.clearInterval(poll));
}

export async function render(ctx: PageContext): Promise<void> {
  if (session.user()?.role === "viewer") {
    ctx.main.append(h("h1", {}, "Go live"), h("p", {}, "Live streaming needs a creator account."));
    return;
  }
  try {
    if (ctx.params.id) await room(ctx, ctx.params.id);
    else await list(ctx);
  } catch (err) {
    ctx.main.append(h("p", { class: "error", role: "alert" }, explain(err)));
  }
}
