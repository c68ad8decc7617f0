// The VOD player: hls.js where Media Source Extensions exist, the browser's own HLS where it
// plays HLS natively, dash.js as the fallback for the DASH manifest; a quality menu, a seek
// bar with storyboard thumbnails, the pre-roll ad (player/preroll.ts, its own chunk) and the
// view heartbeats (player/heartbeats.ts). The libraries load only with this module (the watch
// page), never with the first page.

import { clock, h } from "../dom";
import { heartbeats } from "./heartbeats";
import type { Preroll } from "./preroll";
import { type Tile, loadStoryboard, tileAt } from "./storyboard";

export interface VideoInfo {
  id: string;
  owner_id: string;
  title: string;
  status: string;
  error: string | null;
  duration: number | null;
  playback: { hls: string | null; dash: string | null };
  thumbnail: string | null;
  storyboard: string | null;
  visibility: string;
  channel: { id: string; username: string; display_name: string; avatar: string | null } | null;
  description: string;
  tags: string[];
  views: number;
  likes: number;
  comments: number;
  comment_policy: string;
  published_at: string | null;
  created_at: string;
}

interface Level {
  index: number;
  label: string;
}

interface Engine {
  name: string;
  levels(): Level[];
  setLevel(index: number): void;
  onLevel(callback: (index: number) => void): void;
  destroy(): void;
}

async function hlsEngine(video: HTMLVideoElement, url: string): Promise<Engine | null> {
  const { default: Hls } = await import("hls.js");
  if (!Hls.isSupported()) return null;
  // The worker would need a blob: script; the studio's policy allows only its own scripts.
  const hls = new Hls({ enableWorker: false, capLevelToPlayerSize: false });
  hls.loadSource(url);
  hls.attachMedia(video);
  await new Promise<void>((resolve, reject) => {
    hls.once(Hls.Events.MANIFEST_PARSED, () => resolve());
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) reject(new Error(`Playback failed (${data.details})`));
    });
  });
  return {
    name: "hls.js",
    levels: () =>
      hls.levels.map((level, index) => ({
        index,
        label: `${level.height}p${level.bitrate ? ` · ${Math.round(level.bitrate / 1000)} kb/s` : ""}`,
      })),
    setLevel: (index) => {
      hls.currentLevel = index; // -1: automatic
    },
    onLevel: (callback) => hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => callback(data.level)),
    destroy: () => hls.destroy(),
  };
}

async function dashEngine(video: HTMLVideoElement, url: string): Promise<Engine> {
  const dashjs = await import("dashjs");
  const player = dashjs.MediaPlayer().create();
  player.initialize(video, url, false);
  await new Promise<void>((resolve) => player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => resolve()));
  const reps = () => player.getRepresentationsByType("video");
  return {
    name: "dash.js",
    levels: () => reps().map((r, index) => ({ index, label: `${r.height}p` })),
    setLevel: (index) => {
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: index < 0 } } } });
      if (index >= 0) player.setRepresentationForTypeByIndex("video", index, true);
    },
    onLevel: (callback) =>
      player.on(dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, (e: { mediaType: string; newRepresentation?: { absoluteIndex?: number } }) => {
        if (e.mediaType === "video") callback(e.newRepresentation?.absoluteIndex ?? -1);
      }),
    destroy: () => player.destroy(),
  };
}

function nativeEngine(video: HTMLVideoElement, url: string): Engine {
  video.src = url;
  return { name: "native", levels: () => [], setLevel: () => undefined, onLevel: () => undefined, destroy: () => video.removeAttribute("src") };
}

function seekBar(video: HTMLVideoElement, tiles: Tile[]): HTMLElement {
  const range = h("input", { type: "range", min: 0, max: 1000, value: 0, step: 1, "aria-label": "Seek" });
  const preview = h("div", { class: "preview", "aria-hidden": "true" });
  const time = h("span", { class: "time" }, "0:00");
  const previewAt = (fraction: number) => {
    const at = fraction * (video.duration || 0);
    const tile = tileAt(tiles, at);
    if (!tile) {
      preview.hidden = true;
      return;
    }
    preview.hidden = false;
    preview.style.width = `${tile.w}px`;
    preview.style.height = `${tile.h}px`;
    preview.style.backgroundImage = `url("${tile.url}")`;
    preview.style.backgroundPosition = `-${tile.x}px -${tile.y}px`;
    preview.style.left = `calc(${fraction * 100}% - ${tile.w / 2}px)`;
    preview.dataset.time = String(Math.floor(at));
  };
  preview.hidden = true;
  range.addEventListener("pointermove", (event) => {
    const box = range.getBoundingClientRect();
    previewAt(Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)));
  });
  range.addEventListener("pointerleave", () => {
    preview.hidden = true;
  });
  range.addEventListener("input", () => {
    previewAt(Number(range.value) / 1000);
    if (video.duration) video.currentTime = (Number(range.value) / 1000) * video.duration;
  });
  range.addEventListener("change", () => {
    preview.hidden = true;
  });
  video.addEventListener("timeupdate", () => {
    if (video.duration) range.value = String(Math.round((video.currentTime / video.duration) * 1000));
    time.textContent = `${clock(video.currentTime)} / ${clock(video.duration)}`;
    range.setAttribute("aria-valuetext", time.textContent);
  });
  return h("div", { class: "seek" }, preview, range, time);
}

/** Load the VAST for ``videoId`` (and the VAST client with it); null when no ad is to play. */
async function prerollFor(videoId: string, signal: AbortSignal): Promise<Preroll | null> {
  try {
    const { loadPreroll } = await import("./preroll");
    return await loadPreroll(videoId, signal);
  } catch {
    return null; // no ad is better than no video
  }
}

/** A player for ``info`` in ``container``; everything stops when ``signal`` aborts.
 * ``preroll``: ask the ads API for a pre-roll and play it before the first play. */
export async function mountVideo(
  container: HTMLElement,
  info: VideoInfo,
  signal: AbortSignal,
  options: { preroll?: boolean } = {},
): Promise<HTMLVideoElement> {
  const video = h("video", {
    controls: true,
    playsinline: true,
    preload: "metadata",
    poster: info.thumbnail ?? undefined,
    "aria-label": info.title,
  });
  const quality = h("select", { "aria-label": "Quality", class: "quality" });
  const controls = h("div", { class: "player-controls" }, h("label", {}, "Quality ", quality));
  const frame = h("div", { class: "player", "data-video": info.id }, video);
  container.append(frame);

  let engine: Engine | null = null;
  try {
    if (info.playback.hls && window.MediaSource) engine = await hlsEngine(video, info.playback.hls);
    if (!engine && info.playback.hls && video.canPlayType("application/vnd.apple.mpegurl")) {
      engine = nativeEngine(video, info.playback.hls);
    }
    if (!engine && info.playback.dash) engine = await dashEngine(video, info.playback.dash);
  } catch (err) {
    frame.append(h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err)));
  }
  if (!engine) {
    frame.append(h("p", { class: "error", role: "alert" }, "This browser cannot play this video."));
    return video;
  }
  video.dataset.engine = engine.name;
  const levels = engine.levels();
  quality.append(h("option", { value: "-1" }, "Auto"), ...levels.map((l) => h("option", { value: String(l.index) }, l.label)));
  quality.addEventListener("change", () => engine?.setLevel(Number(quality.value)));
  engine.onLevel((index) => {
    video.dataset.level = String(index);
    const level = levels[index];
    if (level) quality.title = `Playing ${level.label}`;
  });
  if (levels.length < 2) quality.disabled = true;

  const tiles = info.storyboard ? await loadStoryboard(info.storyboard, signal).catch(() => []) : [];
  frame.append(seekBar(video, tiles), controls);

  heartbeats(video, info.id, signal);
  if (options.preroll) {
    const ad = prerollFor(info.id, signal);
    let first = true;
    let none = false;
    void ad.then((preroll) => {
      none = preroll === null;
      frame.dataset.preroll = none ? "none" : "ready";
    });
    video.addEventListener("play", async () => {
      if (!first) return;
      first = false;
      if (none) return;
      // Hold the video (and its heartbeats) until the ad has played.
      video.dataset.ad = "playing";
      video.pause();
      const preroll = await ad;
      if (preroll && !signal.aborted) await preroll.play(frame, video.muted);
      delete video.dataset.ad;
      if (!signal.aborted) void video.play().catch(() => undefined);
    });
  }
  signal.addEventListener("abort", () => {
    engine?.destroy();
  });
  return video;
}
