// Sign in: password (and the second factor when the account has one), or a configured OIDC
// provider. A provider sends the browser back here with #ticket=... which we redeem at once.

import { API, Problem, api, explain } from "../api";
import { announce, field, h } from "../dom";
import { type PageContext, navigate } from "../router";
import { session } from "../session";

export const title = "Sign in";

interface Provider {
  name: string;
  display_name: string;
}

function nextPath(ctx: PageContext): string {
  const next = ctx.query.get("next") ?? sessionStorage.getItem("studio:next") ?? "/";
  sessionStorage.removeItem("studio:next");
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function secondFactor(onCode: (second: { otp?: string; recovery_code?: string }) => Promise<void>): HTMLElement {
  const otp = h("input", {
    name: "otp",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    pattern: "[0-9]{6,8}",
    maxlength: 8,
  });
  const recovery = h("input", { name: "recovery_code", autocomplete: "off", maxlength: 32 });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "second-h" },
    h("h2", { id: "second-h" }, "Two-factor sign-in"),
    field("Code from your authenticator app", otp),
    field("Or a recovery code", recovery),
    error,
    h("button", { type: "submit" }, "Verify"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await onCode(otp.value ? { otp: otp.value } : { recovery_code: recovery.value });
    } catch (err) {
      error.textContent = explain(err);
    }
  });
  queueMicrotask(() => otp.focus());
  return form;
}

async function fromProvider(ctx: PageContext, fragment: URLSearchParams): Promise<boolean> {
  history.replaceState(null, "", location.pathname + location.search); // the ticket leaves the URL
  if (fragment.get("error")) {
    announce(`Sign-in with the provider failed: ${fragment.get("error")}`, "error");
    return false;
  }
  const ticket = fragment.get("ticket");
  if (!ticket) return false;
  const done = () => navigate(nextPath(ctx), true);
  if (fragment.get("second_factor") === "required") {
    ctx.main.append(secondFactor(async (second) => {
      await session.redeem(ticket, second);
      done();
    }));
    return true;
  }
  try {
    await session.redeem(ticket);
    done();
  } catch (err) {
    announce(explain(err), "error");
    return false;
  }
  return true;
}

export async function render(ctx: PageContext): Promise<void> {
  ctx.main.append(h("h1", {}, "Sign in"));
  const fragment = new URLSearchParams(location.hash.slice(1));
  if ((fragment.has("ticket") || fragment.has("error")) && (await fromProvider(ctx, fragment))) return;

  const username = h("input", { name: "username", autocomplete: "username", required: true, maxlength: 64 });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    maxlength: 1024,
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card", "aria-label": "Sign in with a password" },
    field("Username", username),
    field("Password", password),
    error,
    h("button", { type: "submit" }, "Sign in"),
    h("p", {}, "No account yet? ", h("a", { href: "/studio/signup", "data-link": true }, "Sign up")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await session.signIn(username.value, password.value);
      navigate(nextPath(ctx), true);
    } catch (err) {
      if (err instanceof Problem && err.code === "OTP_REQUIRED") {
        form.replaceWith(secondFactor(async (second) => {
          await session.signIn(username.value, password.value, second);
          navigate(nextPath(ctx), true);
        }));
        return;
      }
      error.textContent = explain(err);
    }
  });
  ctx.main.append(form);
  queueMicrotask(() => username.focus());

  let providers: Provider[] = [];
  try {
    providers = await api<Provider[]>("/auth/oidc/providers", { auth: "never" });
  } catch {
    providers = [];
  }
  if (!providers.length || ctx.signal.aborted) return;
  const back = `${location.origin}/studio/signin`;
  ctx.main.append(
    h(
      "section",
      { class: "card", "aria-labelledby": "oidc-h" },
      h("h2", { id: "oidc-h" }, "Or sign in with"),
      ...providers.map((p) =>
        h(
          "a",
          {
            class: "button secondary",
            href: `${API}/auth/oidc/${encodeURIComponent(p.name)}/authorize?redirect_to=${encodeURIComponent(back)}`,
            onclick: () => sessionStorage.setItem("studio:next", ctx.query.get("next") ?? "/"),
          },
          p.display_name,
        ),
      ),
    ),
  );
}
