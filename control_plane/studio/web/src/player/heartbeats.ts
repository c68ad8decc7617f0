// View heartbeats, as the views API asks (POST /api/v1/videos/{id}/views {session, position,
// watched_seconds}): one when playback starts, one every 5 s while playing, and one when it
// pauses or ends, so a clip shorter than 5 s counts too (the server ignores heartbeats less
// than a second apart and caps the watch time at the wall time between two). ``session`` is a
// new random id per page load; the server counts a view once 10 s (or the whole video) are
// watched, once per viewer per hour.

import { api } from "../api";

const EVERY_MS = 5000;
const MIN_GAP_MS = 1000;

function sessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Send heartbeats for ``video`` (the player of ``videoId``) until ``signal`` aborts. */
export function heartbeats(video: HTMLVideoElement, videoId: string, signal: AbortSignal): void {
  const session = sessionId();
  let watched = 0;
  let last = video.currentTime;
  let sentAt = 0;
  let timer = 0;
  // Seconds of media played since the last sample; seeks do not count (a jump is not watching).
  const sample = () => {
    const step = video.currentTime - last;
    if (step > 0 && step <= 2 * (EVERY_MS / 1000) * Math.max(1, video.playbackRate)) watched += step;
    last = video.currentTime;
  };
  const send = (force = false) => {
    sample();
    const now = performance.now();
    if (!force && now - sentAt < MIN_GAP_MS) return;
    sentAt = now;
    video.dataset.heartbeats = String(Number(video.dataset.heartbeats ?? 0) + 1);
    void api(`/videos/${videoId}/views`, {
      json: { session, position: Math.round(video.currentTime * 1000) / 1000, watched_seconds: Math.round(watched * 1000) / 1000 },
      signal,
    }).catch(() => undefined); // a lost heartbeat is only a little less watch time
  };
  const moved = () => {
    last = video.currentTime;
  };
  video.addEventListener("seeking", moved);
  video.addEventListener("seeked", moved);
  video.addEventListener("timeupdate", () => {
    if (!video.seeking) sample();
  });
  video.addEventListener("playing", () => {
    if (video.dataset.ad === "playing") return;
    window.clearInterval(timer);
    send(sentAt === 0);
    timer = window.setInterval(() => send(true), EVERY_MS);
  });
  const stop = () => {
    window.clearInterval(timer);
    if (sentAt) send();
  };
  video.addEventListener("pause", stop);
  video.addEventListener("ended", stop);
  signal.addEventListener("abort", () => window.clearInterval(timer));
}
