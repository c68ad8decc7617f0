"""``bench live --player``: glass-to-glass latency as viewers get it, in real players.

hls.js (``lowLatencyMode: true``, its defaults otherwise) and shaka-player (low-latency mode),
pinned in ``benchmarks/player/package.json``, and a minimal WHEP client play the stream in
Debian's Chromium (``/usr/bin/chromium``), driven by Playwright (``playwright-core``, no browser
download), from a page on another origin than the stream's. The publisher paints its send time
into every frame (``benchmarks._live_clock``) and sends a 48 kHz AAC tone with it; the page reads
the time back from each displayed frame on a canvas: latency is *displayed minus painted*,
player buffers included. Viewers: one opened before the stream starts (the page retries while it
is not live yet), one joining ``join_after_s`` later. The peer is nginx-rtmp's HLS played by the
same hls.js, started on loopback with ``hls_fragment`` 1 s (its shortest useful with a 1 s GOP).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import BenchError, ServerProcess, free_port
from benchmarks._live_clock import Publisher

__all__ = ["PLAYER_DIR", "ensure_player", "run_ours_in_players", "run_nginx_in_players", "viewer_summary"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PLAYER_DIR = Path(__file__).resolve().parent / "player"
CHROMIUM = Path("/usr/bin/chromium")
LEAD_S = 3.0  # the start viewers open this long before the publisher starts


def ensure_player() -> None:
    """Install the pinned players (``npm ci``) unless they are there; needs node, npm, Chromium."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BenchError("the player mode needs node and npm (apt-get install nodejs npm)")
    if not CHROMIUM.exists():
        raise BenchError("the player mode needs Debian's Chromium (apt-get install chromium)")
    modules = PLAYER_DIR / "node_modules"
    if not all(
        (modules / name / "package.json").exists() for name in ("hls.js", "shaka-player", "playwright-core")
    ):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PLAYER_DIR, check=True, timeout=600)


def viewer_summary(result: dict[str, Any], publish_start_ms: float) -> dict[str, Any]:
    """Seconds: latency median and p90 over every frame read, the first frame after the publish
    (a viewer present at the start) or after opening (one that joined); stalls and requests."""
    values = sorted(v / 1000 for v in result.get("latencies", []))
    first = result.get("firstFrame")
    since = max(result["opened"], publish_start_ms)
    summary: dict[str, Any] = {
        "client": result["client"],
        "frames_read": len(values),
        "frames_unread": result.get("unread", 0),
        "first_frame_s": round((first - since) / 1000, 3) if first else None,
        "stalls": result.get("waiting", 0),
        "stalled_s": round(result.get("stallMs", 0) / 1000, 3),
        "media_requests": result.get("mediaRequests", 0),
        "max_requests_of_one_file": result.get("maxRequestsOfOneFile", 0),
        "files_requested_more_than_twice": result.get("filesRequestedMoreThanTwice", 0),
        "retries_before_live": result.get("retries", 0),
        "errors": result.get("errors", [])[:10],
    }
    if values:
        summary.update(
            median_s=round(statistics.median(values), 3),
            p90_s=round(values[int(0.9 * (len(values) - 1))], 3),
            min_s=round(values[0], 3),
            max_s=round(values[-1], 3),
        )
    if result.get("hlsTargetLatency") is not None:
        summary["hlsjs_target_latency_s"] = round(result["hlsTargetLatency"], 3)
    if result.get("mostRequested"):
        summary["most_requested"] = result["mostRequested"][:3]
    if result.get("firstRequests"):
        summary["first_requests"] = result["firstRequests"]  # [file, ms since opening, ms taken]
    if result.get("samples"):
        summary["samples"] = result["samples"][:12]  # [ms open, currentTime, latency, target, buffered end]
    if result.get("failures"):
        summary["http_failures"] = result["failures"][:20]
    if result.get("log"):
        summary["log"] = result["log"][:25] + (
            ["..."] + result["log"][-40:] if len(result["log"]) > 25 else []
        )
    return summary


def watch_in_players(
    workdir: Path,
    name: str,
    publish_url: str,
    viewers: list[dict[str, Any]],
    seconds: float,
    join_after_s: float,
) -> dict[str, Any]:
    """Open ``viewers`` (``{name, client, src, join}``) in Chromium while publishing for
    ``seconds``; the start viewers open ``LEAD_S`` before the publisher, the joining ones
    ``join_after_s`` after it. Returns each viewer's summary by name."""
    start_ms = (time.time() + LEAD_S + 4.0) * 1000  # Chromium takes a few seconds to launch
    end_ms = start_ms + (seconds + 1.5) * 1000
    plan = [
        {
            "name": v["name"],
            "client": v["client"],
            "src": v["src"],
            "openAt": start_ms + (join_after_s * 1000 if v.get("join") else -LEAD_S * 1000),
        }
        for v in viewers
    ]
    config = workdir / f"{name}-players.json"
    until = start_ms + seconds * 1000  # the publisher stops: a player waiting after that is no stall
    config.write_text(
        json.dumps({"chromium": str(CHROMIUM), "viewers": plan, "endAt": end_ms, "stallsUntil": until})
    )
    output = workdir / f"{name}-players.out"
    with output.open("wb") as out, (workdir / f"{name}-players.log").open("wb") as err:
        node = subprocess.Popen(["node", str(PLAYER_DIR / "run.mjs"), str(config)], stdout=out, stderr=err)
        try:
            time.sleep(max(0.0, start_ms / 1000 - time.time()))
            with Publisher(publish_url, seconds, audio=True) as publisher:
                code = publisher.wait()
            if code != 0:
                raise BenchError(f"the publisher to {publish_url} exited with status {code}")
            node.wait(timeout=max(60.0, end_ms / 1000 - time.time() + 60))
        finally:
            if node.poll() is None:
                node.kill()
                node.wait(10)
    if node.returncode != 0:
        tail = (workdir / f"{name}-players.log").read_text(errors="replace")[-2000:]
        raise BenchError(f"the players exited with status {node.returncode}: {tail}")
    report = json.loads(output.read_text().strip().splitlines()[-1])
    return {r["name"]: viewer_summary(r, start_ms) for r in report["results"]}


def run_ours_in_players(
    workdir: Path, seconds: float, part_s: float, join_after_s: float, hold_back_parts: float = 2.0
) -> dict[str, Any]:
    """Our LL-HLS (source rendition, ``part_s`` parts, 2 s segments, ``PART-HOLD-BACK`` of
    ``hold_back_parts`` parts) in hls.js and shaka-player, a viewer at the start and one joining,
    and WHEP, from a page on another origin."""
    case = f"{part_s:g}x{hold_back_parts:g}"
    http_port, rtmp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env.update(
        SOCIALFLOW_DATA_DIR=str(workdir / f"player-ours-{case}"),
        SOCIALFLOW_RTMP_PORT=str(rtmp_port),
        SOCIALFLOW_LIVE_PART_SECONDS=str(part_s),
        SOCIALFLOW_LIVE_SEGMENT_SECONDS="2.0",
        SOCIALFLOW_LIVE_PART_HOLD_BACK=str(hold_back_parts),
        SOCIALFLOW_LIVE_RUNGS="[]",  # the source rendition only, as nginx-rtmp serves it
        SOCIALFLOW_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
    )
    base = f"http://127.0.0.1:{http_port}"
    command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(http_port)]
    log_path = workdir / f"player-ours-{case}.log"
    with ServerProcess(
        "socialflow serve", command, ready_url=f"{base}/healthz", log_path=log_path, env=env, cwd=ROOT
    ):
        with httpx.Client(base_url=base, timeout=30) as api:
            user = {"username": "bench", "email": "bench@example.com", "password": "bench bench bench"}
            api.post("/api/v1/auth/register", json=user).raise_for_status()
            token = api.post("/api/v1/auth/login", json=user).raise_for_status().json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            body = api.post(
                "/api/v1/live/streams", json={"title": "bench"}, headers=bearer
            ).raise_for_status()
        stream = body.json()
        hls, whep = stream["playback"]["hls"], stream["playback"]["whep"]
        viewers = [
            {"name": "hlsjs_start", "client": "hlsjs", "src": hls},
            {"name": "hlsjs_join", "client": "hlsjs", "src": hls, "join": True},
            {"name": "shaka_start", "client": "shaka", "src": hls},
            {"name": "whep_start", "client": "whep", "src": whep},
        ]
        publish = f"rtmp://127.0.0.1:{rtmp_port}/live/{stream['stream_key']}"
        results = watch_in_players(workdir, f"ours-{case}", publish, viewers, seconds, join_after_s)
    hold_back = round(part_s * hold_back_parts, 3)
    return {
        "part_s": part_s,
        "segment_s": 2.0,
        "part_hold_back_parts": hold_back_parts,
        "part_hold_back_s": hold_back,
        **results,
    }


NGINX_CONF = """load_module {module};
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        application live {{
            live on;
            hls on;
            hls_path {dir}/hls;
            hls_fragment {fragment_ms}ms;
            hls_playlist_length {playlist_ms}ms;
        }}
    }}
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{http_port};
        location /hls/ {{
            alias {dir}/hls/;
            add_header Cache-Control no-cache always;
            add_header Access-Control-Allow-Origin * always;
        }}
    }}
}}
"""


def run_nginx_in_players(
    workdir: Path, seconds: float, join_after_s: float, module: Path, fragment_s: float = 1.0
) -> dict[str, Any]:
    """nginx-rtmp's HLS (``fragment_s`` fragments, a 4-fragment playlist) in the same hls.js."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or not module.exists():
        raise BenchError("nginx-rtmp is not installed (apt-get install nginx-light libnginx-mod-rtmp)")
    folder = workdir / "player-nginx"
    (folder / "hls").mkdir(parents=True)
    (folder / "tmp").mkdir()
    http_port, rtmp_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            module=module,
            user="user root;\n" if os.geteuid() == 0 else "",
            dir=folder,
            rtmp_port=rtmp_port,
            http_port=http_port,
            fragment_ms=round(fragment_s * 1000),
            playlist_ms=round(4 * fragment_s * 1000),
        )
    )
    command = [nginx, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"]
    base = f"http://127.0.0.1:{http_port}/hls/"
    with ServerProcess("nginx-rtmp", command, ready_url=base, log_path=workdir / "player-nginx.log"):
        viewers: list[dict[str, Any]] = [
            {"name": "hlsjs_start", "client": "hlsjs", "src": f"{base}bench.m3u8"},
            {"name": "hlsjs_join", "client": "hlsjs", "src": f"{base}bench.m3u8", "join": True},
        ]
        results = watch_in_players(
            workdir, "nginx", f"rtmp://127.0.0.1:{rtmp_port}/live/bench", viewers, seconds, join_after_s
        )
    return {"fragment_s": fragment_s, **results}
