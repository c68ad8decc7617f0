// Drives the real players of `socialflow bench live --player` (see benchmarks/_live_player.py):
// serves player.html and the pinned players from a local origin, opens one Chromium page per
// viewer at its time, counts every media request each page makes, and prints one JSON report.
//
//   node run.mjs config.json    config: {chromium, viewers: [{name, client, src, openAt}], endAt}
//   (times in Unix ms; the publisher starts on its own schedule, set by the caller)
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const files = {
  "/player.html": [join(here, "player.html"), "text/html"],
  "/reader.js": [join(here, "reader.js"), "text/javascript"],
  "/hls.js": [join(here, "node_modules/hls.js/dist/hls.js"), "text/javascript"],
  "/shaka-player.js": [join(here, "node_modules/shaka-player/dist/shaka-player.hls.debug.js"), "text/javascript"],
};

const server = createServer((request, response) => {
  const found = files[new URL(request.url, "http://page").pathname];
  if (!found) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "Content-Type": found[1] }).end(readFileSync(found[0]));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://localhost:${server.address().port}`; // another origin than the stream's

const browser = await chromium.launch({
  executablePath: config.chromium || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    // No calls out of a closed network (Chromium's background services would try at every start).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
  ],
});
const sleepUntil = (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

async function watch(viewer) {
  await sleepUntil(viewer.openAt);
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = {};
  const opened = Date.now();
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (/\.(m4s|ts|mp4|aac)$/.test(path)) (requests[path] = requests[path] || []).push(Date.now());
  });
  const failures = [];
  const failed = (what) => failures.length < 40 && failures.push(`${Date.now() - opened} ${what}`);
  page.on("response", (response) => response.status() >= 400 && failed(`${response.status()} ${response.url()}`));
  page.on("requestfailed", (request) => failed(`failed ${request.failure()?.errorText} ${request.url()}`));
  const query = `client=${viewer.client}&src=${encodeURIComponent(viewer.src)}&until=${config.stallsUntil}`;
  const url = `${origin}/player.html?${query}`;
  await page.goto(url);
  await sleepUntil(config.endAt);
  const stats = await page.evaluate(() => window.benchReport());
  await context.close();
  // Requests of the player that played: a page that restarted its player (a stream not live
  // yet, a player that gave up) asked again for what the abandoned one had asked for.
  const since = stats.started || 0;
  const played = Object.entries(requests)
    .map(([path, times]) => [path, times.filter((t) => t >= since).length])
    .filter(([, n]) => n > 0);
  const counts = played.map(([, n]) => n);
  return {
    name: viewer.name,
    client: viewer.client,
    opened,
    ...stats,
    mediaRequests: counts.reduce((a, b) => a + b, 0),
    mediaFiles: counts.length,
    maxRequestsOfOneFile: counts.length ? Math.max(...counts) : 0,
    filesRequestedMoreThanTwice: counts.filter((n) => n > 2).length,
    mostRequested: played.sort((a, b) => b[1] - a[1]).slice(0, 5),
    failures,
  };
}

try {
  const results = await Promise.all(config.viewers.map(watch));
  process.stdout.write(JSON.stringify({ origin, results }) + "\n");
} finally {
  await browser.close();
  server.close();
}
