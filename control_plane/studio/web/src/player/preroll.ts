// The pre-roll ad: GET /api/v1/ads/vast?video_id=&placement=preroll (a VAST 4.2 document, empty
// when no ad qualifies), read by a real VAST client (@dailymotion/vast-client), whose tracker
// fires the document's signed beacons: the impression and creativeView when the ad starts,
// start and the quartiles as it plays, complete at its end, skip when skipped after the
// skipoffset, and the click (through our counting redirect). This module and the client are
// their own chunk, loaded by the watch page's player only.

import { VASTParser, VASTTracker } from "@dailymotion/vast-client";
import { call, query } from "../api";
import { h } from "../dom";

export interface Preroll {
  /** Play the ad over ``frame`` (muted like the video when ``muted``); resolves when it ended,
   * was skipped or failed to play. */
  play(frame: HTMLElement, muted: boolean): Promise<"complete" | "skipped" | "error">;
}

interface MediaFile {
  fileURL: string;
  mimeType: string;
  deliveryType: string;
  width: number;
}

/** The pre-roll to play before ``videoId``, or null when there is none (or it cannot play here). */
export async function loadPreroll(videoId: string, signal: AbortSignal): Promise<Preroll | null> {
  const response = await call(`/ads/vast${query({ video_id: videoId, placement: "preroll" })}`, {
    headers: { Accept: "application/xml" },
    signal,
  });
  if (!response.ok) return null;
  const xml = new DOMParser().parseFromString(await response.text(), "text/xml");
  const vast = await new VASTParser().parseVAST(xml);
  const probe = document.createElement("video");
  for (const ad of vast.ads) {
    const creative = ad.creatives.find((c: { type: string }) => c.type === "linear");
    if (!creative) continue;
    // A progressive MP4 the browser plays by itself; the streaming (HLS) file needs a player.
    const media = (creative.mediaFiles as MediaFile[])
      .filter((m) => m.deliveryType === "progressive" && probe.canPlayType(m.mimeType))
      .sort((a, b) => b.width - a.width)[0];
    if (media) return { play: (frame, muted) => play(frame, ad, creative, media, muted) };
  }
  return null;
}

function play(frame: HTMLElement, ad: unknown, creative: { duration: number }, media: MediaFile, muted: boolean): Promise<"complete" | "skipped" | "error"> {
  const tracker = new VASTTracker(null as never, ad as never, creative as never, null, muted);
  const video = h("video", { playsinline: true, src: media.fileURL, "aria-label": "Advertisement", class: "ad-video" });
  video.muted = muted;
  video.addEventListener("volumechange", () => tracker.setMuted(video.muted));
  const countdown = h("span", { class: "ad-countdown" }, "Ad");
  const skip = h("button", { type: "button", class: "secondary ad-skip", hidden: true }, "Skip ad");
  const learn = h("button", { type: "button", class: "secondary" }, "Learn more");
  const overlay = h("div", { class: "ad", "data-ad": "playing", role: "region", "aria-label": "Advertisement" }, video, h("div", { class: "row ad-bar" }, countdown, learn, skip));
  frame.append(overlay);

  return new Promise((resolve) => {
    let done = false;
    const finish = (how: "complete" | "skipped" | "error") => {
      if (done) return;
      done = true;
      video.pause();
      overlay.remove();
      frame.dataset.ad = how;
      resolve(how);
    };
    tracker.on("skip-countdown", (left: number) => {
      if (left <= 0) skip.hidden = false;
    });
    tracker.on("clickthrough", (url: string) => window.open(url, "_blank", "noopener"));
    video.addEventListener("playing", () => tracker.trackImpression(), { once: true });
    video.addEventListener("loadedmetadata", () => tracker.setDuration(video.duration));
    video.addEventListener("timeupdate", () => {
      tracker.setProgress(video.currentTime);
      const left = Math.max(0, Math.ceil((video.duration || creative.duration) - video.currentTime));
      countdown.textContent = `Ad · ${left} s`;
    });
    video.addEventListener("ended", () => {
      tracker.complete();
      finish("complete");
    });
    video.addEventListener("error", () => {
      tracker.errorWithCode("405"); // VAST: problem displaying the media file
      finish("error");
    });
    skip.addEventListener("click", () => {
      tracker.skip();
      finish("skipped");
    });
    learn.addEventListener("click", () => {
      video.pause();
      video.controls = true; // to go on with the ad after the advertiser's page
      tracker.click();
    });
    video.play().catch(() => {
      // Autoplay refused (no user gesture yet): let the viewer start the ad.
      video.controls = true;
    });
  });
}
