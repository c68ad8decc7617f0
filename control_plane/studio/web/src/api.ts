// The platform's public API, as any client calls it: JSON in and out, problem+json errors,
// the access token as a Bearer header. A 401 on an expired token refreshes once and retries.

import { session } from "./session";

export const API = "/api/v1";

/** An RFC 9457 problem the API answered (or a network failure, status 0). */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail || code);
  }
}

export interface Options {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Send the access token when signed in (default); "never" sends none. */
  auth?: "when-signed-in" | "never";
  signal?: AbortSignal;
}

async function send(path: string, opts: Options): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  const token = opts.auth === "never" ? null : session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(path.startsWith("http") ? path : API + path, {
      method: opts.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new Problem(0, "NETWORK", "The server cannot be reached. Check your connection and try again.");
  }
}

export async function problemOf(response: Response): Promise<Problem> {
  let body: Record<string, unknown> = {};
  try {
    body = await response.json();
  } catch {
    /* not JSON: the status says enough */
  }
  const detail = typeof body.detail === "string" ? body.detail : response.statusText;
  const code = typeof body.code === "string" ? body.code : `HTTP_${response.status}`;
  return new Problem(response.status, code, detail, body);
}

/** The raw response of a call (after one refresh-and-retry on an expired token). */
export async function call(path: string, opts: Options = {}): Promise<Response> {
  const hadToken = opts.auth !== "never" && session.token() !== null;
  let response = await send(path, opts);
  if (response.status === 401 && hadToken) {
    const problem = await problemOf(response.clone());
    if (problem.code === "TOKEN_EXPIRED" || problem.code === "TOKEN_INVALID") {
      if (await session.refresh()) response = await send(path, opts);
    }
  }
  return response;
}

/** Call and decode JSON; any answer not 2xx throws its Problem. */
export async function api<T = unknown>(path: string, opts: Options = {}): Promise<T> {
  const response = await call(path, opts);
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? await response.json() : await response.text()) as T;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function explain(err: unknown): string {
  if (err instanceof Problem) return err.detail || err.code;
  if (err instanceof Error) return err.message;
  return String(err);
}
