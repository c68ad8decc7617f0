// Creator analytics: a video's (GET /api/v1/videos/{id}/analytics) or the whole channel's
// (GET /api/v1/users/me/analytics) views, watch time and average view duration over a range of
// days, drawn as small inline SVG charts (daily views, daily watch time, the retention curve),
// with traffic by country and device, and the CSV export.

import { api, call, explain, problemOf, query } from "../api";
import { announce, clock, h, link } from "../dom";
import type { PageContext } from "../router";

export const title = (ctx: PageContext) => (ctx.params.id ? "Video analytics" : "Channel analytics");

interface Slice {
  key: string;
  views: number;
  watch_seconds: number;
}

interface Report {
  from: string;
  to: string;
  views: number;
  watch_seconds: number;
  average_view_duration: number;
  retention: { second: number; share: number }[];
  countries: Slice[];
  devices: Slice[];
  daily: { day: string; views: number; watch_seconds: number }[];
  subscribers_gained: number | null;
  subscribers_lost: number | null;
}

const SVG = "http://www.w3.org/2000/svg";
const W = 600;
const H = 200;
const PAD = { left: 60, right: 10, top: 12, bottom: 30 };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A line or bar chart of ``points`` ([x label, y]) with a y axis from 0 to the top value. */
function chart(label: string, points: [string, number][], kind: "bars" | "line", format: (y: number) => string, yMax?: number): SVGSVGElement {
  const top = yMax ?? Math.max(1, ...points.map((p) => p[1]));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (points.length < 2 ? plotW / 2 : (i * plotW) / (points.length - 1));
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", "data-points": points.length });
  root.append(svg("title", {}, label));
  for (const v of [0, top / 2, top]) {
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    if (v !== top / 2) root.append(svg("text", { x: PAD.left - 4, y: y(v) + 5, "text-anchor": "end" }, format(v)));
  }
  if (points.length) {
    root.append(
      svg("text", { x: PAD.left, y: H - 8 }, points[0][0]),
      svg("text", { x: W - PAD.right, y: H - 8, "text-anchor": "end" }, points[points.length - 1][0]),
    );
  }
  if (kind === "bars") {
    const step = plotW / Math.max(1, points.length);
    points.forEach(([name, v], i) => {
      const bar = svg("rect", { x: PAD.left + i * step + step * 0.1, y: y(v), width: step * 0.8, height: Math.max(0, y(0) - y(v)), class: "bar" });
      bar.append(svg("title", {}, `${name}: ${format(v)}`));
      root.append(bar);
    });
  } else if (points.length) {
    const d = points.map(([, v], i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
    root.append(svg("path", { d, class: "line" }));
  }
  return root;
}

function figure(caption: string, drawing: SVGSVGElement): HTMLElement {
  return h("figure", { class: "card chart-card" }, h("figcaption", {}, caption), drawing as unknown as HTMLElement);
}

function slices(caption: string, rows: Slice[]): HTMLElement {
  return h(
    "table",
    { class: "videos slices" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Views"), h("th", { scope: "col" }, "Watch time"))),
    h("tbody", {}, rows.length ? null : h("tr", {}, h("td", { colspan: 3 }, "No views in this period.")), ...rows.map((s) => h("tr", {}, h("th", { scope: "row" }, s.key), h("td", { class: "num", "data-label": "Views" }, String(s.views)), h("td", { class: "num", "data-label": "Watch time" }, clock(s.watch_seconds))))),
  );
}

const hours = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

export async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const base = id ? `/videos/${encodeURIComponent(id)}/analytics` : "/users/me/analytics";
  const days = Number(ctx.query.get("days")) || 28;
  const range = h("select", { id: "range", "aria-label": "Period" }, ...[7, 28, 90, 365].map((n) => h("option", { value: String(n), selected: n === days }, `Last ${n} days`)));
  const csv = h("button", { type: "button", class: "secondary" }, "Download CSV");
  const body = h("div", {}, h("p", {}, "Loading…"));
  let heading = "Channel analytics";
  if (id) {
    heading = "Video analytics";
    void api<{ title: string }>(`/videos/${encodeURIComponent(id)}`).then((v) => {
      h1.textContent = `Analytics: ${v.title || "untitled video"}`;
    }, () => undefined);
  }
  const h1 = h("h1", {}, heading);
  ctx.main.append(h1, h("div", { class: "row actions" }, range, csv, id ? link(`/studio/watch/${id}`, "Watch page") : link("/studio/videos", "Per video: My videos")), body);

  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  const span = { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
  range.addEventListener("change", () => {
    const next = new URL(location.href);
    next.searchParams.set("days", range.value);
    history.replaceState(null, "", next);
    void import("../router").then((r) => r.show());
  });
  csv.addEventListener("click", async () => {
    const response = await call(`${base}${query({ ...span, format: "csv" })}`);
    if (!response.ok) {
      announce(explain(await problemOf(response)), "error");
      return;
    }
    const a = h("a", { href: URL.createObjectURL(await response.blob()), download: `analytics-${id ?? "channel"}-${span.from}-${span.to}.csv` });
    a.click();
    window.setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  });

  let report: Report;
  try {
    report = await api<Report>(`${base}${query(span)}`, { signal: ctx.signal });
  } catch (err) {
    body.replaceChildren(h("p", { class: "error", role: "alert" }, explain(err)));
    return;
  }
  const stat = (name: string, value: string) => h("div", { class: "card stat" }, h("small", {}, name), h("strong", { "data-stat": name }, value));
  const stats = h(
    "div",
    { class: "stats" },
    stat("Views", String(report.views)),
    stat("Watch time", hours(report.watch_seconds)),
    stat("Average view duration", clock(report.average_view_duration)),
  );
  if (report.subscribers_gained !== null) stats.append(stat("Subscribers", `+${report.subscribers_gained} / −${report.subscribers_lost ?? 0}`));
  const day = (d: string) => d.slice(5);
  body.replaceChildren(
    stats,
    h(
      "div",
      { class: "charts" },
      figure("Views per day", chart("Views per day", report.daily.map((d) => [day(d.day), d.views]), "bars", (v) => String(Math.round(v)))),
      figure("Watch time per day", chart("Watch time per day", report.daily.map((d) => [day(d.day), d.watch_seconds]), "bars", hours)),
      id
        ? figure(
            "Audience retention (share still watching)",
            report.retention.length
              ? chart("Audience retention", report.retention.map((p) => [clock(p.second), p.share]), "line", (v) => `${Math.round(v * 100)}%`, 1)
              : chart("Audience retention: no data yet", [], "line", (v) => `${Math.round(v * 100)}%`, 1),
          )
        : null,
    ),
    h("div", { class: "charts" }, slices("By country", report.countries), slices("By device", report.devices)),
  );
}
