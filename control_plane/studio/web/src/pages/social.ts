// Pieces several pages share: the follow button, the like button, a video card.

import { api, explain } from "../api";
import { announce, h, link } from "../dom";
import { session } from "../session";

export interface Profile {
  id: string;
  username: string;
  display_name: string;
  bio: string;
  avatar: string | null;
  followers: number;
  following: number;
  videos: number;
  posts: number;
  is_following: boolean | null;
  is_blocked: boolean | null;
}

export interface VideoCard {
  id: string;
  title: string;
  thumbnail: string | null;
  duration: number | null;
  views: number;
  channel: { username: string; display_name: string } | null;
}

export function followButton(profile: Profile, onCount?: (followers: number) => void): HTMLElement | null {
  const me = session.user();
  if (!me || me.id === profile.id) return null;
  let following = !!profile.is_following;
  let followers = profile.followers;
  const button = h("button", { type: "button", "aria-pressed": String(following) });
  const paint = () => {
    button.textContent = following ? "Following" : "Follow";
    button.setAttribute("aria-pressed", String(following));
  };
  paint();
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/users/${encodeURIComponent(profile.username)}/follow`, { method: following ? "DELETE" : "PUT" });
      following = !following;
      followers += following ? 1 : -1;
      paint();
      onCount?.(followers);
    } catch (err) {
      announce(explain(err), "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function likeButton(path: string, count: number): HTMLElement {
  let liked = false;
  const label = h("span", {}, "Like");
  const number = h("span", { class: "count" }, String(count));
  const button = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, label, " ", number);
  button.addEventListener("click", async () => {
    if (!session.user()) {
      announce("Sign in to like.", "error");
      return;
    }
    button.disabled = true;
    try {
      await api(`${path}/like`, { method: liked ? "DELETE" : "PUT" });
      liked = !liked;
      count += liked ? 1 : -1;
      number.textContent = String(count);
      label.textContent = liked ? "Liked" : "Like";
      button.setAttribute("aria-pressed", String(liked));
    } catch (err) {
      announce(explain(err), "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function videoCard(video: VideoCard): HTMLElement {
  return h(
    "li",
    { class: "tile" },
    link(
      `/studio/watch/${video.id}`,
      video.thumbnail ? h("img", { src: video.thumbnail, alt: "", loading: "lazy", width: 320, height: 180 }) : h("div", { class: "noimg" }),
      h("strong", {}, video.title),
    ),
    h(
      "small",
      {},
      video.channel ? link(`/studio/channel/${encodeURIComponent(video.channel.username)}`, video.channel.display_name || video.channel.username) : "",
      ` · ${video.views} views`,
    ),
  );
}
