// The app's pages: one module each, loaded when first visited, so the first load carries only
// the shell and the page asked for (the player libraries come with the watch page alone, the
// VAST client with the first pre-roll). A page for a new API is one more line here and one
// module under pages/.

import { h } from "./dom";
import { session } from "./session";

export const BASE = "/studio";

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  main: HTMLElement;
  /** Aborted when the user leaves the page: stop timers, sockets and players with it. */
  signal: AbortSignal;
}

export interface PageModule {
  title: string | ((ctx: PageContext) => string);
  render(ctx: PageContext): Promise<void> | void;
}

interface Route {
  path: string;
  load: () => Promise<PageModule>;
  signedIn?: boolean;
}

export const routes: Route[] = [
  { path: "/", load: () => import("./pages/home") },
  { path: "/signin", load: () => import("./pages/signin") },
  { path: "/signup", load: () => import("./pages/signup") },
  { path: "/upload", load: () => import("./pages/upload"), signedIn: true },
  { path: "/videos", load: () => import("./pages/videos"), signedIn: true },
  { path: "/watch/:id", load: () => import("./pages/watch") },
  { path: "/channel/:username", load: () => import("./pages/channel") },
  { path: "/search", load: () => import("./pages/search") },
  { path: "/live", load: () => import("./pages/golive"), signedIn: true },
  { path: "/live/:id", load: () => import("./pages/golive"), signedIn: true },
  { path: "/feed", load: () => import("./pages/feed"), signedIn: true },
  { path: "/notifications", load: () => import("./pages/notifications"), signedIn: true },
  { path: "/analytics", load: () => import("./pages/analytics"), signedIn: true },
  { path: "/videos/:id/analytics", load: () => import("./pages/analytics"), signedIn: true },
];

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

let leaving: AbortController | null = null;

/** Path inside the app ("/watch/abc") of the current location. */
function appPath(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "/";
  return path || "/";
}

export async function show(): Promise<void> {
  leaving?.abort();
  const controller = new AbortController();
  leaving = controller;
  const main = document.getElementById("main") as HTMLElement;
  const path = appPath();
  const query = new URLSearchParams(location.search);
  for (const route of routes) {
    const params = match(route.path, path);
    if (!params) continue;
    if (route.signedIn && !session.user()) {
      navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, true);
      return;
    }
    const ctx: PageContext = { params, query, main, signal: controller.signal };
    let page: PageModule;
    try {
      page = await route.load();
    } catch {
      main.replaceChildren(h("h1", {}, "This page could not be loaded"), h("p", {}, "Reload to try again."));
      return;
    }
    if (controller.signal.aborted) return;
    main.replaceChildren();
    document.title = `${typeof page.title === "function" ? page.title(ctx) : page.title} · Social Flow Studio`;
    await page.render(ctx);
    if (!controller.signal.aborted) {
      document.dispatchEvent(new CustomEvent("studio:page", { detail: path }));
    }
    return;
  }
  document.title = "Not found · Social Flow Studio";
  main.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: `${BASE}/`, "data-link": true }, "Home")));
}

/** Go to an app path ("/videos") without a page load. */
export function navigate(path: string, replace = false): void {
  const url = BASE + (path.startsWith("/") ? path : `/${path}`);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void show().then(() => document.getElementById("main")?.focus({ preventScroll: true }));
}

export function start(): void {
  window.addEventListener("popstate", () => void show());
  document.addEventListener("click", (event) => {
    const a = (event.target as Element | null)?.closest?.("a[data-link]") as HTMLAnchorElement | null;
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
    event.preventDefault();
    navigate(url.pathname.slice(BASE.length) + url.search);
  });
  void show();
}
