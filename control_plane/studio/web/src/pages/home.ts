// Home: the streams live now and the latest public videos. (The signed-in home feed comes
// here once GET /api/v1/feed exists.)

import { type Page, api, explain, query } from "../api";
import { h, link } from "../dom";
import type { PageContext } from "../router";
import { type VideoCard, videoCard } from "./social";

export const title = "Home";

interface LiveNow {
  id: string;
  title: string;
  channel: { username: string; display_name: string };
  viewers: number;
}

export async function render(ctx: PageContext): Promise<void> {
  ctx.main.append(h("h1", {}, "Social Flow"));
  try {
    const [live, latest] = await Promise.all([
      api<Page<LiveNow>>(`/live${query({ limit: 12 })}`),
      api<Page<VideoCard>>(`/videos${query({ sort: "latest", limit: 24 })}`),
    ]);
    if (live.items.length) {
      ctx.main.append(
        h("h2", {}, "Live now"),
        h(
          "ul",
          { class: "grid" },
          ...live.items.map((s) =>
            h("li", { class: "tile" }, h("strong", {}, s.title), h("small", {}, `${s.channel.display_name || s.channel.username} · ${s.viewers} watching`)),
          ),
        ),
      );
    }
    ctx.main.append(
      h("h2", {}, "Latest videos"),
      latest.items.length ? h("ul", { class: "grid" }, ...latest.items.map(videoCard)) : h("p", {}, "No videos yet. ", link("/studio/upload", "Upload the first one"), "."),
    );
  } catch (err) {
    ctx.main.append(h("p", { class: "error", role: "alert" }, explain(err)));
  }
}
