// The home feed (GET /api/v1/feed): posts and new videos of the accounts you follow, newest
// first ("following") or ranked ("ranked"), a page at a time with "Load more" (the API's
// cursor; a ranked cursor lasts 30 minutes, after which the list starts again).

import { type Page, Problem, api, explain, query } from "../api";
import { announce, append, clock, field, h, link, when } from "../dom";
import type { PageContext } from "../router";

export const title = "Feed";

/** Items a page; the API allows up to 100. */
const PAGE = 10;

interface Brief {
  id: string;
  username: string;
}

interface Post {
  id: string;
  author: Brief;
  text: string;
  video: { id: string; title: string } | null;
  likes: number;
  reposts: number;
  replies: number;
  created_at: string;
}

interface Entry {
  kind: "post" | "video";
  post: Post | null;
  video: { id: string; title: string; owner: Brief; duration: number | null; published_at: string } | null;
  reposted_by: Brief[];
  at: string;
  score: number | null;
}

const who = (user: Brief) => link(`/studio/channel/${encodeURIComponent(user.username)}`, user.username);

function entry(item: Entry): HTMLElement {
  const li = h("li", { class: "card entry", "data-kind": item.kind });
  if (item.reposted_by.length) {
    li.append(h("small", {}, "Reposted by ", ...item.reposted_by.flatMap((u, i) => (i ? [", ", who(u)] : [who(u)]))));
  }
  if (item.post) {
    const post = item.post;
    li.dataset.post = post.id;
    append(
      li,
      h("p", {}, who(post.author), " ", h("small", {}, when(post.created_at))),
      h("p", { class: "text" }, post.text),
      post.video ? h("p", {}, "▶ ", link(`/studio/watch/${post.video.id}`, post.video.title)) : null,
      h("small", {}, `${post.likes} likes · ${post.reposts} reposts · ${post.replies} replies`),
    );
  } else if (item.video) {
    const video = item.video;
    li.dataset.video = video.id;
    li.append(
      h("p", {}, who(video.owner), " uploaded ", h("small", {}, when(video.published_at))),
      h("p", {}, link(`/studio/watch/${video.id}`, h("strong", {}, video.title)), ` · ${clock(video.duration)}`),
    );
  }
  return li;
}

function composer(onPosted: () => void): HTMLElement {
  const text = h("textarea", { name: "post", rows: 2, maxlength: 500, required: true });
  const form = h("form", { class: "card", "aria-label": "New post" }, field("Post something", text, "#tags and @mentions work; 500 characters at most."), h("button", { type: "submit" }, "Post"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/posts", { json: { text: text.value } });
      text.value = "";
      announce("Posted");
      onPosted();
    } catch (err) {
      announce(explain(err), "error");
    }
  });
  return form;
}

export async function render(ctx: PageContext): Promise<void> {
  const algorithm = ctx.query.get("algorithm") === "ranked" ? "ranked" : "following";
  const tab = (value: string, label: string) =>
    link(`/studio/feed${value === "following" ? "" : `?algorithm=${value}`}`, label);
  const tabs = h("nav", { class: "tabs", "aria-label": "Order" }, tab("following", "Latest"), tab("ranked", "Top"));
  tabs.querySelectorAll("a")[algorithm === "ranked" ? 1 : 0].setAttribute("aria-current", "page");
  const list = h("ul", { class: "feed", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const empty = h("p", { hidden: true }, "Nothing here yet: follow some channels (", link("/studio/search?type=channels", "find them"), ") and their posts and videos show here.");
  ctx.main.append(h("h1", {}, "Feed"), composer(() => void start()), tabs, empty, list, more);

  let cursor: string | null = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api<Page<Entry>>(`/feed${query({ algorithm, limit: PAGE, cursor })}`, { signal: ctx.signal });
      list.append(...page.items.map(entry));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = list.childElementCount > 0;
    } catch (err) {
      if (err instanceof Problem && err.status === 422 && cursor) {
        announce("The list has changed since it was loaded: here it is again.");
        await start();
        return;
      }
      if (!ctx.signal.aborted) announce(explain(err), "error");
    } finally {
      more.disabled = false;
    }
  };
  const start = async () => {
    cursor = null;
    list.replaceChildren();
    await load();
  };
  more.addEventListener("click", () => void load());
  await load();
}
