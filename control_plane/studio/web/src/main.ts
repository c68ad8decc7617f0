import "./styles.css";
import { h, link } from "./dom";
import { mountBell } from "./notify";
import { navigate, start } from "./router";
import { type Me, session } from "./session";

function renderNav(me: Me | null): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  const items: Node[] = [link("/studio/", "Home")];
  if (me) {
    items.push(
      link("/studio/feed", "Feed"),
      link("/studio/upload", "Upload"),
      link("/studio/videos", "My videos"),
      link("/studio/analytics", "Analytics"),
      link("/studio/live", "Go live"),
      link(`/studio/channel/${encodeURIComponent(me.username)}`, me.username),
      h("span", { id: "slot-bell" }),
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: async () => {
            await session.signOut();
            navigate("/");
          },
        },
        "Sign out",
      ),
    );
  } else {
    items.push(link("/studio/signin", "Sign in"), link("/studio/signup", "Sign up"));
  }
  nav.replaceChildren(...items);
  mountBell(me);
}

document.querySelector("form.search")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = (document.getElementById("q") as HTMLInputElement).value.trim();
  if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
});

session.onChange(renderNav);
renderNav(null);
// A reload signs back in from the refresh cookie before the first page shows.
void session.refresh().finally(start);
