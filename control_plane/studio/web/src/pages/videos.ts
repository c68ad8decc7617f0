// My videos: every video of the signed-in user in a table (thumbnail, status, views, likes,
// comments), with edit, delete (after a confirmation) and the Content-ID claims of each, which
// the owner may dispute.

import { type Page, api, explain, query } from "../api";
import { announce, clock, field, h, link, when } from "../dom";
import type { PageContext } from "../router";

export const title = "My videos";

interface Mine {
  id: string;
  title: string;
  status: string;
  progress: number;
  error: string | null;
  duration: number | null;
  thumbnail: string | null;
  visibility: string;
  description: string;
  tags: string[];
  views: number;
  likes: number;
  comments: number;
  created_at: string;
}

interface Claim {
  id: string;
  kind: string;
  query_start: number;
  reference_start: number;
  duration: number;
  score: number;
  policy: string;
  status: string;
  dispute_reason: string | null;
}

function editor(video: Mine, row: HTMLElement, onSaved: (v: Mine) => void): HTMLElement {
  const titleInput = h("input", { value: video.title, maxlength: 200, required: true });
  const description = h("textarea", { rows: 3, maxlength: 5000 });
  description.value = video.description;
  const tags = h("input", { value: video.tags.join(", "), maxlength: 600 });
  const visibility = h("select", {}, ...["public", "unlisted", "private"].map((v) => h("option", { value: v, selected: v === video.visibility }, v)));
  const form = h(
    "form",
    { class: "card editor", "aria-label": `Edit ${video.title}` },
    field("Title", titleInput),
    field("Description", description),
    field("Tags", tags, "Separated by commas"),
    field("Visibility", visibility),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Save"), h("button", { type: "button", class: "secondary", onclick: () => form.remove() }, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await api<Mine>(`/videos/${video.id}`, {
        method: "PATCH",
        json: {
          title: titleInput.value,
          description: description.value,
          tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
          visibility: visibility.value,
        },
      });
      form.remove();
      onSaved(saved);
      announce("Saved");
    } catch (err) {
      announce(explain(err), "error");
    }
  });
  queueMicrotask(() => titleInput.focus());
  row.after(h("tr", { class: "edit-row" }, h("td", { colspan: 7 }, form)));
  return form;
}

async function claims(video: Mine, cell: HTMLElement): Promise<void> {
  const found = await api<Claim[]>(`/videos/${video.id}/claims`);
  if (!found.length) {
    cell.replaceChildren(h("p", {}, "No Content-ID claims on this video."));
    return;
  }
  cell.replaceChildren(
    h(
      "ul",
      { class: "claims" },
      ...found.map((claim) => {
        const item = h(
          "li",
          { "data-claim": claim.id },
          `${claim.kind} match at ${clock(claim.query_start)} for ${Math.round(claim.duration)} s · policy ${claim.policy} · ${claim.status}`,
          claim.dispute_reason ? h("small", {}, ` (disputed: ${claim.dispute_reason})`) : null,
        );
        if (claim.status === "active") {
          const reason = h("input", { maxlength: 2000, required: true });
          const form = h("form", { class: "row", "aria-label": "Dispute this claim" }, field("Why the claim is wrong", reason), h("button", { type: "submit" }, "Dispute"));
          form.addEventListener("submit", async (event) => {
            event.preventDefault();
            try {
              await api(`/contentid/claims/${claim.id}/dispute`, { json: { reason: reason.value } });
              announce("Dispute sent");
              await claims(video, cell);
            } catch (err) {
              announce(explain(err), "error");
            }
          });
          item.append(form);
        }
        return item;
      }),
    ),
  );
}

function row(video: Mine, body: HTMLElement): HTMLElement {
  const tr = h("tr", { "data-video": video.id });
  const paint = (v: Mine) => {
    video = v;
    tr.replaceChildren(
      h("td", {}, v.thumbnail ? h("img", { src: v.thumbnail, alt: "", width: 96, height: 54 }) : h("div", { class: "noimg small" })),
      h("th", { scope: "row" }, v.status === "ready" ? link(`/studio/watch/${v.id}`, v.title) : v.title, h("br"), h("small", {}, `${v.visibility} · ${clock(v.duration)} · ${when(v.created_at)}`)),
      h("td", { class: `status ${v.status}` }, v.status === "processing" ? `processing ${Math.round(v.progress * 100)}%` : v.status, v.error ? h("small", { class: "error" }, h("br"), v.error) : null),
      h("td", { class: "num", "data-label": "Views" }, String(v.views)),
      h("td", { class: "num", "data-label": "Likes" }, String(v.likes)),
      h("td", { class: "num", "data-label": "Comments" }, String(v.comments)),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => editor(video, tr, paint) }, "Edit"),
        link(`/studio/videos/${v.id}/analytics`, "Analytics"),
        " ",
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "aria-expanded": "false",
            onclick: async (event: Event) => {
              const button = event.currentTarget as HTMLButtonElement;
              const open = tr.nextElementSibling?.classList.contains("claims-row");
              if (open) {
                tr.nextElementSibling?.remove();
                button.setAttribute("aria-expanded", "false");
                return;
              }
              const cell = h("td", { colspan: 7 }, "Loading claims…");
              tr.after(h("tr", { class: "claims-row" }, cell));
              button.setAttribute("aria-expanded", "true");
              await claims(video, cell).catch((err) => cell.replaceChildren(explain(err)));
            },
          },
          "Claims",
        ),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              if (!confirm(`Delete “${video.title}” for good? Its files, comments and likes go too.`)) return;
              try {
                await api(`/videos/${video.id}`, { method: "DELETE" });
                tr.remove();
                announce(`Deleted “${video.title}”`);
              } catch (err) {
                announce(explain(err), "error");
              }
            },
          },
          "Delete",
        ),
      ),
    );
  };
  paint(video);
  body.append(tr);
  return tr;
}

export async function render(ctx: PageContext): Promise<void> {
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More videos");
  const table = h(
    "table",
    { class: "videos" },
    h("caption", { class: "sr" }, "Your videos"),
    h("thead", {}, h("tr", {}, ...["", "Video", "Status", "Views", "Likes", "Comments", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  ctx.main.append(h("h1", {}, "My videos"), h("p", {}, link("/studio/upload", "Upload more")), h("div", { class: "scroll" }, table), more);
  let cursor: string | null = null;
  const load = async () => {
    try {
      const page = await api<Page<Mine>>(`/users/me/videos${query({ cursor, limit: 50 })}`);
      for (const video of page.items) row(video, body);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!body.children.length) table.replaceWith(h("p", {}, "No videos yet."));
    } catch (err) {
      announce(explain(err), "error");
    }
  };
  more.addEventListener("click", () => void load());
  await load();
}
