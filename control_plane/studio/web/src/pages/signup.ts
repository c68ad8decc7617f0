import { api, explain } from "../api";
import { field, h } from "../dom";
import { type PageContext, navigate } from "../router";
import { session } from "../session";

export const title = "Sign up";

export function render(ctx: PageContext): void {
  const username = h("input", {
    name: "username",
    autocomplete: "username",
    required: true,
    maxlength: 64,
    pattern: "[A-Za-z0-9_]{3,32}",
  });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, maxlength: 254 });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "new-password",
    required: true,
    minlength: 8,
    maxlength: 1024,
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card", "aria-label": "Create an account" },
    field("Username", username, "3 to 32 letters, digits or underscores"),
    field("Email", email),
    field("Password", password, "A long passphrase is best"),
    error,
    h("button", { type: "submit" }, "Create account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("/auth/register", {
        json: { username: username.value, email: email.value, password: password.value },
        auth: "never",
      });
      await session.signIn(username.value, password.value);
      navigate("/upload", true);
    } catch (err) {
      error.textContent = explain(err);
    }
  });
  ctx.main.append(h("h1", {}, "Create your channel"), form);
  queueMicrotask(() => username.focus());
}
