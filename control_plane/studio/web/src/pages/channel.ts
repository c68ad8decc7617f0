import { type Page, Problem, api, explain, query } from "../api";
import { h } from "../dom";
import type { PageContext } from "../router";
import { type Profile, type VideoCard, followButton, videoCard } from "./social";

export const title = (ctx: PageContext) => ctx.params.username;

export async function render(ctx: PageContext): Promise<void> {
  const username = ctx.params.username;
  let profile: Profile;
  try {
    profile = await api<Profile>(`/users/${encodeURIComponent(username)}`);
  } catch (err) {
    ctx.main.append(h("h1", {}, err instanceof Problem && err.status === 404 ? "No such channel" : "This channel cannot be shown"), h("p", {}, explain(err)));
    return;
  }
  const followers = h("span", {}, `${profile.followers} followers`);
  ctx.main.append(
    h(
      "header",
      { class: "channel-head" },
      profile.avatar ? h("img", { src: profile.avatar, alt: "", width: 96, height: 96, class: "avatar" }) : null,
      h("div", {}, h("h1", {}, profile.display_name || profile.username), h("p", {}, `@${profile.username} · `, followers, ` · ${profile.videos} videos`), h("p", {}, profile.bio)),
      followButton(profile, (n) => {
        followers.textContent = `${n} followers`;
      }),
    ),
  );
  const grid = h("ul", { class: "grid", "aria-label": "Videos" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More videos");
  let cursor: string | null = null;
  const load = async () => {
    const page = await api<Page<VideoCard>>(`/videos${query({ channel: profile.username, sort: "latest", cursor })}`);
    grid.append(...page.items.map(videoCard));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => void load());
  ctx.main.append(h("h2", {}, "Videos"), grid, more);
  await load();
  if (!grid.children.length) grid.replaceWith(h("p", {}, "No public videos yet."));
}
