import { type Page, api, explain, query } from "../api";
import { h, link } from "../dom";
import type { PageContext } from "../router";

export const title = "Search";

interface Hit {
  type: string;
  id: string;
  title: string;
  text: string | null;
  author: { id: string; username: string } | null;
}

const TYPES = [
  ["videos", "Videos"],
  ["channels", "Channels"],
  ["posts", "Posts"],
  ["hashtags", "Hashtags"],
] as const;

function hitLink(hit: Hit): HTMLElement {
  if (hit.type === "video") return link(`/studio/watch/${hit.id}`, hit.title);
  if (hit.type === "channel") return link(`/studio/channel/${encodeURIComponent(hit.title)}`, hit.title);
  return h("span", {}, hit.title);
}

export async function render(ctx: PageContext): Promise<void> {
  const q = ctx.query.get("q") ?? "";
  const type = ctx.query.get("type") ?? "videos";
  const box = document.getElementById("q") as HTMLInputElement | null;
  if (box) box.value = q;
  ctx.main.append(
    h("h1", {}, q ? `Results for “${q}”` : "Search"),
    h("nav", { class: "tabs", "aria-label": "What to search" }, ...TYPES.map(([value, label]) =>
      link(`/studio/search${query({ q, type: value })}`, value === type ? h("strong", { "aria-current": "page" }, label) : label),
    )),
  );
  if (!q) return;
  try {
    const page = await api<Page<Hit>>(`/search${query({ q, type, limit: 30 })}`);
    ctx.main.append(
      page.items.length
        ? h("ul", { class: "results" }, ...page.items.map((hit) => h("li", {}, hitLink(hit), hit.text ? h("p", {}, hit.text) : null, hit.author ? h("small", {}, `by ${hit.author.username}`) : null)))
        : h("p", {}, "Nothing found."),
    );
  } catch (err) {
    ctx.main.append(h("p", { class: "error", role: "alert" }, explain(err)));
  }
}
