// The signed-in session. The access token lives in this module's memory only; the refresh
// token is an HttpOnly cookie the page cannot read (login with refresh_cookie: true), so a
// reload signs back in with one refresh and nothing secret is ever in localStorage.
// Refreshes are serialised across tabs with a Web Lock: two tabs never spend one refresh token.

import { API, Problem, call, problemOf } from "./api";

export interface Me {
  id: string;
  username: string;
  email: string;
  email_verified: boolean;
  role: string;
}

interface TokenOut {
  access_token: string;
  expires_in: number;
}

type Listener = (me: Me | null) => void;

let access: string | null = null;
let me: Me | null = null;
let timer = 0;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<Listener>();

function emit(): void {
  for (const listener of listeners) listener(me);
}

async function post(path: string, json: unknown, extra: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...extra },
      body: JSON.stringify(json),
      credentials: "same-origin",
    });
  } catch {
    throw new Problem(0, "NETWORK", "The server cannot be reached. Check your connection and try again.");
  }
}

async function adopt(tokens: TokenOut): Promise<void> {
  access = tokens.access_token;
  window.clearTimeout(timer);
  // Refresh a minute before the access token expires (or halfway, for short lifetimes).
  const lead = Math.min(60, tokens.expires_in / 2);
  timer = window.setTimeout(() => void session.refresh(), (tokens.expires_in - lead) * 1000);
  const response = await fetch(`${API}/users/me`, { headers: { Authorization: `Bearer ${access}` } });
  if (!response.ok) throw await problemOf(response);
  me = (await response.json()) as Me;
  emit();
}

function forget(): void {
  access = null;
  me = null;
  window.clearTimeout(timer);
  emit();
}

async function refreshOnce(): Promise<boolean> {
  const run = async (): Promise<boolean> => {
    const response = await post("/auth/refresh", {}, { "X-Requested-With": "socialflow-studio" });
    if (!response.ok) {
      forget();
      return false;
    }
    await adopt((await response.json()) as TokenOut);
    return true;
  };
  try {
    return navigator.locks ? await navigator.locks.request("socialflow-refresh", run) : await run();
  } catch {
    return false;
  }
}

export const session = {
  token: (): string | null => access,
  user: (): Me | null => me,
  onChange(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },

  /** A new access token from the refresh cookie; false when there is no session any more. */
  refresh(): Promise<boolean> {
    refreshing ??= refreshOnce().finally(() => {
      refreshing = null;
    });
    return refreshing;
  },

  /** Sign in; throws the Problem (``OTP_REQUIRED`` asks for the second factor). */
  async signIn(username: string, password: string, second: { otp?: string; recovery_code?: string } = {}) {
    const response = await post("/auth/login", { username, password, ...second, refresh_cookie: true });
    if (!response.ok) throw await problemOf(response);
    await adopt((await response.json()) as TokenOut);
  },

  /** Finish a social sign-in with the ticket the callback put in our URL's fragment. */
  async redeem(ticket: string, second: { otp?: string; recovery_code?: string } = {}) {
    const response = await post("/auth/oidc/token", { ticket, ...second, refresh_cookie: true });
    if (!response.ok) throw await problemOf(response);
    await adopt((await response.json()) as TokenOut);
  },

  async signOut(): Promise<void> {
    if (access) {
      try {
        // An expired access token is refreshed first, so the server ends the session and
        // clears the refresh cookie.
        await call("/auth/logout", { method: "POST" });
      } catch {
        /* signed out here all the same */
      }
    }
    forget();
  },
};
