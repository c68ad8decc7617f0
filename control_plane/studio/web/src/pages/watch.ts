// The watch page: the player, the channel with its follow button, like, share link, the
// description and the comments.

import { type Page, Problem, api, explain, query } from "../api";
import { announce, append, copyButton, field, h, link, when } from "../dom";
import type { PageContext } from "../router";
import { session } from "../session";
import { type Profile, followButton, likeButton } from "./social";

export const title = "Watch";

interface Comment {
  id: string;
  author: { id: string; username: string };
  text: string;
  status: string;
  likes: number;
  replies: number;
  created_at: string;
}

function commentItem(comment: Comment, videoOwner: string): HTMLElement {
  const me = session.user();
  const item = h(
    "li",
    { class: "comment", "data-comment": comment.id },
    h("p", {}, link(`/studio/channel/${encodeURIComponent(comment.author.username)}`, comment.author.username), " ", h("small", {}, when(comment.created_at))),
    h("p", { class: "text" }, comment.text),
  );
  if (comment.status === "held") item.append(h("small", {}, "Waiting for the creator's review"));
  if (me && (me.id === comment.author.id || me.id === videoOwner)) {
    item.append(
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: async () => {
            if (!confirm("Delete this comment?")) return;
            try {
              await api(`/comments/${comment.id}`, { method: "DELETE" });
              item.remove();
            } catch (err) {
              announce(explain(err), "error");
            }
          },
        },
        "Delete",
      ),
    );
  }
  return item;
}

async function comments(section: HTMLElement, videoId: string, owner: string, policy: string): Promise<void> {
  const list = h("ul", { class: "comments" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More comments");
  let cursor: string | null = null;
  const load = async () => {
    const page = await api<Page<Comment>>(`/videos/${videoId}/comments${query({ sort: "new", cursor, limit: 20 })}`);
    list.append(...page.items.map((c) => commentItem(c, owner)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => void load());
  section.append(h("h2", { id: "comments-h" }, "Comments"));
  if (session.user() && policy !== "disabled") {
    const text = h("textarea", { name: "comment", rows: 2, maxlength: 2000, required: true });
    const form = h("form", { class: "comment-form", "aria-label": "Add a comment" }, field("Add a comment", text), h("button", { type: "submit" }, "Comment"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const made = await api<Comment>(`/videos/${videoId}/comments`, { json: { text: text.value } });
        list.prepend(commentItem(made, owner));
        text.value = "";
      } catch (err) {
        announce(explain(err), "error");
      }
    });
    section.append(form);
  } else if (policy === "disabled") {
    section.append(h("p", {}, "Comments are turned off."));
  } else {
    section.append(h("p", {}, link("/studio/signin", "Sign in"), " to comment."));
  }
  section.append(list, more);
  await load();
}

export async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  let video: import("../player/player").VideoInfo;
  try {
    video = await api(`/videos/${encodeURIComponent(id)}`);
  } catch (err) {
    ctx.main.append(h("h1", {}, err instanceof Problem && err.status === 404 ? "No such video" : "This video cannot be shown"), h("p", {}, explain(err)));
    return;
  }
  document.title = `${video.title} · Social Flow Studio`;
  const stage = h("div", { class: "stage" });
  ctx.main.append(stage, h("h1", {}, video.title));
  if (video.status !== "ready") {
    stage.append(h("p", { class: "notice" }, `This video is ${video.status}.`, video.error ? ` ${video.error}` : ""));
  } else {
    const { mountVideo } = await import("../player/player");
    await mountVideo(stage, video, ctx.signal, { preroll: true });
  }
  const share = `${location.origin}/studio/watch/${video.id}`;
  const shareInput = h("input", { value: share, readonly: true, "aria-label": "Share link", class: "share" });
  const actions = h("div", { class: "row actions" }, likeButton(`/videos/${video.id}`, video.likes), shareInput, copyButton("Link", () => share));
  ctx.main.append(actions);
  if (video.channel) {
    const followers = h("small", {});
    const channel = h("div", { class: "row channel" }, link(`/studio/channel/${encodeURIComponent(video.channel.username)}`, h("strong", {}, video.channel.display_name || video.channel.username)), followers);
    ctx.main.append(channel);
    try {
      const profile = await api<Profile>(`/users/${encodeURIComponent(video.channel.username)}`);
      followers.textContent = `${profile.followers} followers`;
      const button = followButton(profile, (n) => {
        followers.textContent = `${n} followers`;
      });
      if (button) channel.append(button);
    } catch {
      /* the profile is a nicety here */
    }
  }
  append(
    ctx.main,
    h("p", { class: "meta" }, `${video.views} views`, video.published_at ? ` · ${when(video.published_at)}` : ""),
    h("p", { class: "description" }, video.description),
    video.tags.length ? h("p", { class: "tags" }, ...video.tags.map((t) => h("span", { class: "tag" }, `#${t}`))) : null,
  );
  const section = h("section", { "aria-labelledby": "comments-h" });
  ctx.main.append(section);
  await comments(section, video.id, video.owner_id, video.comment_policy);
}
