// The notifications page: the inbox (GET /api/v1/notifications) by day, each entry as the API
// grouped it (likes and follows of one subject are one entry: "ada and 3 others liked..."),
// new ones arriving live from the bell's socket, and "Mark all read" (POST .../read {up_to}).

import { type Page, api, explain, query } from "../api";
import { announce, h, link, when } from "../dom";
import { type Notification, onNotification, setUnread } from "../notify";
import type { PageContext } from "../router";

export const title = "Notifications";

function target(n: Notification): string | null {
  const on = n.context ?? n.subject;
  if (on.type === "video") return `/studio/watch/${on.id}`;
  if (on.type === "user" && n.actor) return `/studio/channel/${encodeURIComponent(n.actor.username)}`;
  if (on.type === "stream" && n.actor) return `/studio/channel/${encodeURIComponent(n.actor.username)}`;
  return null;
}

function dayOf(iso: string): string {
  const day = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86_400_000);
  if (day.toDateString() === today.toDateString()) return "Today";
  if (day.toDateString() === yesterday.toDateString()) return "Yesterday";
  return day.toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
}

function item(n: Notification): HTMLElement {
  const href = target(n);
  return h(
    "li",
    { class: `note${n.read ? "" : " unread"}`, "data-id": String(n.id), "data-type": n.type },
    h("span", { class: "sr" }, n.read ? "" : "Unread: "),
    href ? link(href, n.text) : h("span", {}, n.text),
    n.count > 1 ? h("span", { class: "badge", title: `${n.count} in this group` }, String(n.count)) : null,
    h("small", {}, " ", when(n.created_at)),
  );
}

export async function render(ctx: PageContext): Promise<void> {
  const days = h("div", { class: "notes" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older");
  const onlyUnread = h("input", { type: "checkbox", id: "only-unread" });
  const markAll = h("button", { type: "button" }, "Mark all read");
  const empty = h("p", { hidden: true }, "No notifications.");
  ctx.main.append(
    h("h1", {}, "Notifications"),
    h("div", { class: "row actions" }, markAll, h("label", { for: "only-unread" }, onlyUnread, " Unread only")),
    empty,
    days,
    more,
  );

  let cursor: string | null = null;
  let newest = 0;
  const groupFor = (label: string, first: boolean): HTMLElement => {
    const found = [...days.children].find((s) => (s as HTMLElement).dataset.day === label) as HTMLElement | undefined;
    if (found) return found.querySelector("ul") as HTMLElement;
    const section = h("section", { "data-day": label }, h("h2", {}, label), h("ul", { class: "plain" }));
    if (first) days.prepend(section);
    else days.append(section);
    return section.querySelector("ul") as HTMLElement;
  };
  const add = (n: Notification, atTop: boolean) => {
    newest = Math.max(newest, n.id);
    const list = groupFor(dayOf(n.created_at), atTop);
    if (atTop) list.prepend(item(n));
    else list.append(item(n));
    empty.hidden = true;
  };
  const load = async () => {
    const page = await api<Page<Notification>>(`/notifications${query({ unread: onlyUnread.checked ? "true" : null, cursor, limit: 30 })}`, {
      signal: ctx.signal,
    });
    for (const n of page.items) add(n, false);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = days.childElementCount > 0;
  };
  const reload = async () => {
    cursor = null;
    days.replaceChildren();
    await load().catch((err) => announce(explain(err), "error"));
  };

  more.addEventListener("click", () => void load().catch((err) => announce(explain(err), "error")));
  onlyUnread.addEventListener("change", () => void reload());
  markAll.addEventListener("click", async () => {
    if (!newest) return;
    markAll.disabled = true;
    try {
      const left = await api<{ unread: number }>("/notifications/read", { json: { up_to: newest } });
      setUnread(left.unread);
      for (const li of days.querySelectorAll("li.unread")) {
        li.classList.remove("unread");
        li.querySelector(".sr")?.replaceChildren();
      }
      announce("All read");
    } catch (err) {
      announce(explain(err), "error");
    } finally {
      markAll.disabled = false;
    }
  });
  const stop = onNotification((n, replaces) => {
    if (replaces !== null) days.querySelector(`li[data-id="${replaces}"]`)?.remove();
    add(n, true);
  });
  ctx.signal.addEventListener("abort", stop);
  await reload();
}
