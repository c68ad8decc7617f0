// Upload: files go over tus (resumable) with tus-js-client, one card per file with its progress
// bar and pause/resume; an upload cut by a reload resumes when the same file is picked again
// (tus-js-client keeps each upload's URL, not any token, by the file's fingerprint). Then the
// processing status comes live from the video's server-sent events, ending with the player or
// the reason it failed and a retry button.

import { type PreviousUpload, Upload, defaultOptions } from "tus-js-client";
import { API, api, explain } from "../api";
import { announce, bytes, field, h } from "../dom";
import type { PageContext } from "../router";
import { session } from "../session";
import { listen } from "../sse";

export const title = "Upload";

const CHUNK = 8 * 1024 * 1024;
const VISIBILITIES = [
  ["public", "Public: anyone can find and watch it"],
  ["unlisted", "Unlisted: anyone with the link"],
  ["private", "Private: only you"],
] as const;

interface Meta {
  title: string;
  description: string;
  tags: string[];
  visibility: string;
}

interface Status {
  status: string;
  progress: number;
  error: string | null;
}

function processing(card: HTMLElement, videoId: string, signal: AbortSignal): void {
  const label = h("span", {}, "Processing…");
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Processing" });
  const box = h("div", { class: "processing", "data-video": videoId }, label, bar);
  card.append(box);
  void listen(
    `/videos/${videoId}/events`,
    (event) => {
      if (event.event === "deleted") {
        label.textContent = "The video was deleted.";
        return true;
      }
      if (event.event !== "status") return;
      const status = JSON.parse(event.data) as Status;
      bar.value = status.progress;
      card.dataset.status = status.status;
      if (status.status === "processing" || status.status === "uploading") {
        label.textContent = `Processing… ${Math.round(status.progress * 100)}%`;
        return;
      }
      if (status.status === "ready") {
        label.textContent = "Ready.";
        bar.remove();
        void showPlayer(box, videoId, signal);
        return true;
      }
      label.textContent = status.status === "blocked" ? "Blocked" : "Processing failed";
      bar.remove();
      const retry = h("button", { type: "button" }, "Retry processing");
      retry.addEventListener("click", async () => {
        try {
          await api(`/videos/${videoId}/retry`, { method: "POST" });
          box.remove();
          processing(card, videoId, signal);
        } catch (err) {
          announce(explain(err), "error");
        }
      });
      box.append(h("p", { class: "error", role: "alert" }, status.error ?? "No reason was given."));
      if (status.status === "failed") box.append(retry);
      return true;
    },
    signal,
  ).catch((err) => {
    label.textContent = `Processing status unavailable: ${explain(err)}`;
  });
}

async function showPlayer(box: HTMLElement, videoId: string, signal: AbortSignal): Promise<void> {
  box.append(h("p", {}, h("a", { href: `/studio/watch/${videoId}`, "data-link": true }, "Open the watch page")));
  const { mountVideo } = await import("../player/player");
  const video = await api<import("../player/player").VideoInfo>(`/videos/${videoId}`);
  if (!signal.aborted) await mountVideo(box, video, signal);
}

function fileCard(file: File, meta: Meta, list: HTMLElement, signal: AbortSignal): void {
  const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
  const state = h("span", { class: "state" }, "Starting…");
  const pause = h("button", { type: "button", class: "secondary" }, "Pause");
  const card = h(
    "li",
    { class: "card upload", "data-file": file.name },
    h("strong", {}, meta.title || file.name),
    h("small", {}, ` ${bytes(file.size)}`),
    h("div", { class: "row" }, bar, state, pause),
  );
  list.prepend(card);

  let paused = false;
  let described = false;
  const upload: Upload = new Upload(file, {
    endpoint: `${API}/uploads/`,
    chunkSize: CHUNK,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    metadata: { filename: file.name, title: meta.title || file.name },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    async onBeforeRequest(req) {
      if (!session.token()) await session.refresh();
      req.setHeader("Authorization", `Bearer ${session.token()}`);
    },
    onShouldRetry(err) {
      const status = err.originalResponse?.getStatus() ?? 0;
      if (status === 401) {
        void session.refresh();
        return true;
      }
      return status === 0 || status === 409 || status === 423 || status === 429 || status >= 500;
    },
    async onUploadUrlAvailable() {
      const id = upload.url?.split("/").pop();
      if (!id) return;
      card.dataset.video = id;
      if (described) return;
      described = true;
      const changes: Record<string, unknown> = { visibility: meta.visibility };
      if (meta.description) changes.description = meta.description;
      if (meta.tags.length) changes.tags = meta.tags;
      try {
        await api(`/videos/${id}`, { method: "PATCH", json: changes });
      } catch (err) {
        announce(`Details not saved: ${explain(err)}`, "error");
      }
    },
    onProgress(sent, total) {
      const percent = total ? Math.floor((sent / total) * 100) : 0;
      bar.value = percent;
      state.textContent = `${percent}% · ${bytes(sent)} of ${bytes(total)}`;
    },
    onError(err) {
      state.textContent = `Upload failed: ${err.message}`;
      pause.textContent = "Try again";
      paused = true;
    },
    onSuccess() {
      bar.value = 100;
      state.textContent = "Uploaded";
      pause.remove();
      const id = upload.url?.split("/").pop();
      if (id) {
        card.dataset.video = id;
        processing(card, id, signal);
      }
    },
  });
  pause.addEventListener("click", () => {
    if (paused) {
      paused = false;
      pause.textContent = "Pause";
      state.textContent = "Resuming…";
      upload.start();
    } else {
      paused = true;
      pause.textContent = "Resume";
      state.textContent = `Paused at ${bar.value}%`;
      void upload.abort();
    }
  });
  void upload.findPreviousUploads().then((previous: PreviousUpload[]) => {
    if (previous.length) {
      described = true; // its details were saved when it started
      upload.resumeFromPreviousUpload(previous[0]);
      state.textContent = "Resuming where it stopped…";
    }
    upload.start();
  });
}

async function unfinished(box: HTMLElement): Promise<void> {
  const storage = defaultOptions.urlStorage;
  const found = storage ? await storage.findAllUploads() : [];
  if (!found.length) return;
  box.append(
    h(
      "div",
      { class: "card notice", role: "note" },
      h("h2", {}, "Unfinished uploads"),
      h("p", {}, "Pick the same file again to go on from where it stopped:"),
      h("ul", {}, ...found.map((u) => h("li", {}, String(u.metadata?.filename ?? u.uploadUrl ?? "an upload")))),
    ),
  );
}

export async function render(ctx: PageContext): Promise<void> {
  const titleInput = h("input", { name: "title", maxlength: 200, placeholder: "The file's name if empty" });
  const description = h("textarea", { name: "description", rows: 3, maxlength: 5000 });
  const tags = h("input", { name: "tags", placeholder: "music, travel", maxlength: 600 });
  const visibility = h(
    "select",
    { name: "visibility" },
    ...VISIBILITIES.map(([value, text]) => h("option", { value }, text)),
  );
  const input = h("input", { type: "file", accept: "video/*,audio/*", multiple: true, id: "files", class: "sr" });
  const drop = h(
    "label",
    { for: "files", class: "drop", tabindex: 0 },
    h("strong", {}, "Drop video files here"),
    h("span", {}, " or press Enter to choose them"),
  );
  const list = h("ul", { class: "uploads", "aria-label": "Uploads", "aria-live": "polite" });
  const notices = h("div", {});

  const begin = (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      fileCard(
        file,
        {
          title: titleInput.value.trim(),
          description: description.value,
          tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
          visibility: visibility.value,
        },
        list,
        ctx.signal,
      );
    }
  };
  input.addEventListener("change", () => {
    if (input.files?.length) begin(input.files);
    input.value = "";
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer?.files.length) begin(event.dataTransfer.files);
  });

  ctx.main.append(
    h("h1", {}, "Upload"),
    notices,
    h(
      "form",
      { class: "card", "aria-label": "Details for the next uploads", onsubmit: (e: Event) => e.preventDefault() },
      field("Title", titleInput),
      field("Description", description),
      field("Tags", tags, "Separated by commas"),
      field("Visibility", visibility),
    ),
    drop,
    input,
    list,
  );
  await unfinished(notices);
}
