"""Live glass-to-glass latency: Social Flow's LL-HLS, HLS and WHEP against nginx-rtmp's HLS.

A publisher draws its send time into every frame (a barcode of Unix milliseconds) and pushes it
over RTMP in real time; viewers download what a player would and read the time back from the
decoded frames. Latency per frame is ``downloaded - drawn``, in seconds; a player's buffer
(the playlists' hold-back) comes on top and is reported beside it. The WHEP viewer (aiortc)
notes ``decoded - drawn``: it has no buffer beyond its jitter buffer. ``whip_whep``: the clock
published over WHIP (aiortc, VP8; the server decodes it and encodes H.264) and played over WHEP.
nginx-rtmp is Debian's ``nginx-light`` with ``libnginx-mod-rtmp``, started by this benchmark on
loopback. Both are measured at every segment length in ``--segments`` (ours: HLS segments and
LL-HLS parts of 0.5 s within them; nginx-rtmp: ``hls_fragment``); WHEP and WHIP only once.
Writes ``live.json`` and ``live.png``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import BenchError, ServerProcess, free_port, grouped_bars, write_json
from benchmarks._live_clock import FPS, HEIGHT, WIDTH, Publisher
from benchmarks._live_viewers import Viewer
from benchmarks._live_whep import WhepViewer, WhipClockPublisher

__all__ = ["main", "NGINX_MODULE"]

log = logging.getLogger(__name__)

DEFAULT_HOLD_BACK_PARTS = 2.0  # the platform's SOCIALFLOW_LIVE_PART_HOLD_BACK
NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
ROOT = Path(__file__).resolve().parent.parent


def summary(viewer: Viewer | WhepViewer, hold_back_s: float) -> dict[str, Any]:
    """Latency statistics in seconds over every frame the viewer decoded."""
    values = sorted(viewer.latencies)
    if not values:
        return {"frames": 0, "errors": viewer.errors}
    return {
        "frames": len(values),
        "median_s": round(statistics.median(values), 3),
        "p90_s": round(values[int(0.9 * (len(values) - 1))], 3),
        "min_s": round(values[0], 3),
        "max_s": round(values[-1], 3),
        "hold_back_s": hold_back_s,
        "errors": viewer.errors,
    }


def watch(publish_url: str, viewers: list[Viewer | WhepViewer], seconds: float) -> int:
    """Publish for ``seconds`` while the viewers watch; returns the frames sent."""
    with Publisher(publish_url, seconds) as publisher:
        for viewer in viewers:
            viewer.thread.start()
        code = publisher.wait()
        time.sleep(1.5)  # the last part or segment reaches the viewers
        for viewer in viewers:
            viewer.stop.set()
        for viewer in viewers:
            viewer.thread.join(20)
    if code != 0:
        raise BenchError(f"the publisher to {publish_url} exited with status {code}")
    return publisher.frames


def run_ours(workdir: Path, seconds: float, segment_s: float = 2.0, webrtc: bool = True) -> dict[str, Any]:
    """Our LL-HLS and HLS viewers (and, with ``webrtc``, WHEP and WHIP to WHEP) on ``segment_s``
    second segments."""
    http_port, rtmp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env.update(
        SOCIALFLOW_DATA_DIR=str(workdir / f"ours-{segment_s:g}"),
        SOCIALFLOW_RTMP_PORT=str(rtmp_port),
        SOCIALFLOW_LIVE_SEGMENT_SECONDS=str(segment_s),
        SOCIALFLOW_LIVE_RUNGS="[]",  # the source rendition only, as nginx-rtmp serves it
    )
    base = f"http://127.0.0.1:{http_port}"
    command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(http_port)]
    with ServerProcess(
        "socialflow serve",
        command,
        ready_url=f"{base}/healthz",
        log_path=workdir / f"ours-{segment_s:g}.log",
        env=env,
        cwd=ROOT,
    ):
        with httpx.Client(base_url=base, timeout=30) as api:
            user = {"username": "bench", "email": "bench@example.com", "password": "bench bench bench"}
            api.post("/api/v1/auth/register", json=user).raise_for_status()
            token = api.post("/api/v1/auth/login", json=user).raise_for_status().json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            body = (
                api.post("/api/v1/live/streams", json={"title": "bench"}, headers=bearer)
                .raise_for_status()
                .json()
            )
            whip_stream = (
                api.post("/api/v1/live/streams", json={"title": "whip"}, headers=bearer)
                .raise_for_status()
                .json()
            )
        media = f"{base}/live/{body['id']}/hls/index.m3u8"
        stop = threading.Event()
        low, regular = Viewer(media, "ll_hls", stop), Viewer(media, "hls", stop)
        whep = WhepViewer(f"{base}/live/{body['id']}/whep", stop) if webrtc else None
        viewers: list[Viewer | WhepViewer] = [low, regular, *([whep] if whep else [])]
        sent = watch(f"rtmp://127.0.0.1:{rtmp_port}/live/{body['stream_key']}", viewers, seconds)
        relayed = (
            watch_whip(f"{base}/api/v1/live/streams/{whip_stream['id']}", token, seconds) if whep else None
        )
    result: dict[str, Any] = {
        "segment_s": segment_s,
        "frames_sent": sent,
        "ll_hls": summary(low, 1.0),  # PART-HOLD-BACK: 2 parts of 0.5 s (the default)
        "hls": summary(regular, 3 * segment_s),  # 3 target durations
    }
    if whep is not None:
        result["whep"] = {**summary(whep, 0.0), "answer_s": round(whep.answered_s or 0.0, 3)}
        result["whip_whep"] = relayed
    return result


def watch_whip(stream_url: str, token: str, seconds: float) -> dict[str, Any]:
    """Publish the clock over WHIP for ``seconds`` while a WHEP viewer watches the same stream."""
    stop = threading.Event()
    viewer = WhepViewer(stream_url.replace("/api/v1/live/streams/", "/live/") + "/whep", stop)
    publisher = WhipClockPublisher(f"{stream_url}/whip", token, seconds)
    publisher.thread.start()
    viewer.thread.start()
    publisher.thread.join(seconds + 30)
    stop.set()
    viewer.thread.join(20)
    if publisher.error is not None:
        raise BenchError(publisher.error)
    return {"frames_sent": publisher.track.frames, **summary(viewer, 0.0)}


NGINX_CONF = """load_module {module};
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
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
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{http_port};
        location /hls/ {{ alias {dir}/hls/; add_header Cache-Control no-cache; }}
    }}
}}
"""


def run_nginx(workdir: Path, seconds: float, fragment_s: float = 2.0) -> dict[str, Any]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or not NGINX_MODULE.exists():
        raise BenchError("nginx-rtmp is not installed (apt-get install nginx-light libnginx-mod-rtmp)")
    folder = workdir / f"nginx-{fragment_s:g}"
    (folder / "hls").mkdir(parents=True)
    (folder / "tmp").mkdir()
    http_port, rtmp_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            module=NGINX_MODULE,
            # Workers run as nobody when started by root: they could not enter our private temp folder.
            user="user root;\n" if os.geteuid() == 0 else "",
            dir=folder,
            rtmp_port=rtmp_port,
            http_port=http_port,
            fragment_ms=round(fragment_s * 1000),
            playlist_ms=round(3 * fragment_s * 1000),
        )
    )
    command = [nginx, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"]
    base = f"http://127.0.0.1:{http_port}/hls/"
    with ServerProcess("nginx-rtmp", command, ready_url=base, log_path=workdir / f"nginx-{fragment_s:g}.log"):
        stop = threading.Event()
        viewer = Viewer(f"{base}bench.m3u8", "hls", stop)
        sent = watch(f"rtmp://127.0.0.1:{rtmp_port}/live/bench", [viewer], seconds)
    return {"segment_s": fragment_s, "frames_sent": sent, "hls": summary(viewer, 3 * fragment_s)}


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, met or not, from the medians: LL-HLS under 2 s, WHEP under 0.5 s, and
    lower latency than nginx-rtmp's HLS at every segment length (our LL-HLS, and our plain HLS
    like for like)."""
    ours = report.get("socialflow", {})

    def median(case: dict[str, Any], protocol: str) -> float | None:
        value = case.get(protocol, {}).get("median_s")
        return float(value) if value is not None else None

    ll_hls, whep = median(ours, "ll_hls"), median(ours, "whep")
    rows = []
    for row in report["by_segment"]:
        theirs = median(row["nginx_rtmp"], "hls")
        ours_ll, ours_hls = median(row["socialflow"], "ll_hls"), median(row["socialflow"], "hls")

        def below(value: float | None, theirs: float | None = theirs) -> bool | None:
            return None if value is None or theirs is None else value < theirs

        rows.append({"segment_s": row["segment_s"], "ours_ll_hls_s": ours_ll, "ours_hls_s": ours_hls,
                     "nginx_hls_s": theirs, "ll_hls_lower": below(ours_ll),
                     "hls_lower": below(ours_hls)})  # fmt: skip

    def every(key: str) -> bool | None:
        compared = [r[key] for r in rows if r[key] is not None]
        return all(compared) if compared else None

    return {
        "ll_hls_under_2s": None if ll_hls is None else ll_hls < 2.0,
        "whep_under_0_5s": None if whep is None else whep < 0.5,
        # What our viewers get (LL-HLS) against what nginx-rtmp's get (HLS), at every length:
        "lower_than_nginx_at_every_segment_length": every("ll_hls_lower"),
        # Like for like, both without parts:
        "hls_lower_than_nginx_hls_at_every_segment_length": every("hls_lower"),
        "by_segment": rows,
    }


def plot_results(report: dict[str, Any], path: Path) -> None:
    """Median and 90th percentile latency (ms) per system and protocol."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [
        ("Social Flow LL-HLS", report["socialflow"].get("ll_hls", {})),
        ("Social Flow HLS", report["socialflow"].get("hls", {})),
        ("Social Flow WHEP", report["socialflow"].get("whep", {})),
        ("Social Flow WHIP to WHEP", report["socialflow"].get("whip_whep", {})),
        ("nginx-rtmp HLS", report["nginx_rtmp"].get("hls", {})),
    ]

    def ms(case: dict[str, Any], key: str) -> float | None:
        return case[key] * 1000 if key in case else None

    rows = report.get("by_segment", [])
    figure, (axes, by_length) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    grouped_bars(
        axes,
        [name for name, _ in cases],
        {"median": [ms(c, "median_s") for _, c in cases], "p90": [ms(c, "p90_s") for _, c in cases]},
        ylabel="ms from drawn to downloaded",
        title=f"Glass-to-glass latency ({report['seconds']:g} s, {WIDTH}x{HEIGHT} {FPS} fps H.264)",
    )
    axes.legend(fontsize=8)
    grouped_bars(
        by_length,
        [f"{row['segment_s']:g} s segments" for row in rows],
        {
            "Social Flow LL-HLS": [ms(row["socialflow"].get("ll_hls", {}), "median_s") for row in rows],
            "Social Flow HLS": [ms(row["socialflow"].get("hls", {}), "median_s") for row in rows],
            "nginx-rtmp HLS": [ms(row["nginx_rtmp"].get("hls", {}), "median_s") for row in rows],
        },
        ylabel="median ms",
        title="By segment length",
    )
    by_length.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run_capacity(args: argparse.Namespace, output: Path) -> int:
    """``--capacity``: the largest number of concurrent streams kept up with, passthrough and with
    the ladder (see ``benchmarks._live_capacity``); writes ``live-capacity.json`` and ``.png``."""
    from benchmarks._live_capacity import CapacityOptions, find_capacity, make_clip, plot_capacity

    width, _, height = args.size.partition("x")
    cpus = tuple(int(c) for c in args.ingest_cpus.split(",") if c)
    options = CapacityOptions(
        seconds=args.seconds,
        ingest_cpus=cpus,
        width=int(width),
        height=int(height),
        fps=args.fps,
        max_streams=args.max_streams,
    )
    workdir = Path(tempfile.mkdtemp(prefix="socialflow-bench-live-capacity-"))
    report: dict[str, Any] = {
        "seconds": options.seconds,
        "source": f"{options.width}x{options.height} {options.fps} fps H.264 "
        f"{options.bitrate_kbps} kb/s + AAC",
        "machine": {
            "cpus": os.cpu_count(),
            "ingest_cpus": list(cpus) or "all",
            "load_before": round(os.getloadavg()[0], 2),
        },
    }
    try:
        clip = workdir / "clip.flv"
        make_clip(clip, options)
        for mode in args.modes.split(","):
            report[mode] = find_capacity(workdir, clip, mode == "ladder", options)
            log.info("%s: %d streams kept up with", mode, report[mode]["max_streams"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_json(output / "live-capacity.json", report)
    plot_capacity(report, output / "live-capacity.png")
    log.info("wrote %s and %s", output / "live-capacity.json", output / "live-capacity.png")
    return 0


def player_targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets in real players: hls.js median under 1.5 s for both viewers at 0.5 s
    parts, under 1.0 s at the shortest part length measured (both with the platform's default
    hold-back, 2 parts); no stall and no media file requested more than twice; WHEP under 0.2 s."""
    cases = report.get("socialflow", [])

    def hlsjs_medians(case: dict[str, Any]) -> list[float | None]:
        return [case.get(v, {}).get("median_s") for v in ("hlsjs_start", "hlsjs_join")]

    def under(values: list[float | None], limit: float) -> bool | None:
        return None if not values or any(v is None for v in values) else all(v < limit for v in values)  # type: ignore[operator]

    at_default = [c for c in cases if c.get("part_hold_back_parts") == DEFAULT_HOLD_BACK_PARTS]
    default = [c for c in at_default if c["part_s"] == 0.5]
    shortest = min((c["part_s"] for c in at_default), default=None)
    short = [c for c in at_default if c["part_s"] == shortest]
    players = [v for c in cases for k, v in c.items() if k.startswith(("hlsjs", "shaka"))]
    whep = [c.get("whep_start", {}).get("median_s") for c in cases]
    return {
        "hlsjs_under_1_5s_at_0_5s_parts": under([m for c in default for m in hlsjs_medians(c)], 1.5),
        "hlsjs_under_1s_at_shortest_parts": under([m for c in short for m in hlsjs_medians(c)], 1.0),
        "shortest_part_s": shortest,
        "no_stall": all(v.get("stalls", 0) == 0 for v in players) if players else None,
        "no_file_requested_more_than_twice": all(v.get("max_requests_of_one_file", 0) <= 2 for v in players)
        if players
        else None,
        "whep_under_0_2s": under(whep, 0.2),
    }


def plot_players(report: dict[str, Any], path: Path) -> None:
    """Median latency (with p90 marks) per case and viewer, ours and nginx-rtmp's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [
        (f"ours {c['part_s']:g} s parts\nhold-back {c['part_hold_back_s']:g} s", c)
        for c in report["socialflow"]
    ]
    if report.get("nginx_rtmp", {}).get("fragment_s"):
        columns.append(
            (f"nginx-rtmp HLS\n{report['nginx_rtmp']['fragment_s']:g} s fragments", report["nginx_rtmp"])
        )
    viewers = [
        ("hls.js, at start", "hlsjs_start"),
        ("hls.js, joining", "hlsjs_join"),
        ("shaka, at start", "shaka_start"),
        ("WHEP", "whep_start"),
    ]

    def ms(value: float | None) -> float | None:
        return None if value is None else value * 1000

    figure, axes = plt.subplots(figsize=(12, 4.8))
    grouped_bars(
        axes,
        [name for name, _ in columns],
        {label: [ms(c.get(key, {}).get("median_s")) for _, c in columns] for label, key in viewers},
        ylabel="median ms, displayed minus painted",
        title=f"Glass-to-glass latency in Chromium ({report['seconds']:g} s published, {WIDTH}x{HEIGHT} "
        f"{FPS} fps H.264 + AAC)",
    )
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run_players(args: argparse.Namespace, output: Path) -> int:
    """``--player``: our LL-HLS in hls.js and shaka-player and WHEP, against nginx-rtmp's HLS in
    the same hls.js (see ``benchmarks._live_player``); writes ``live-player.json`` and ``.png``."""
    from benchmarks._live_player import ensure_player, run_nginx_in_players, run_ours_in_players

    cases = []
    for item in args.parts.split(","):
        part, _, hold = item.strip().partition(":")
        cases.append((float(part), float(hold or DEFAULT_HOLD_BACK_PARTS)))
    if not cases or any(not 0.2 <= p <= 1.0 or not 2 <= h <= 10 for p, h in cases):
        log.error("--parts takes PART[:HOLD-BACK-PARTS] items, parts of 0.2 to 1 s, e.g. 0.5,0.5:2,0.2")
        return 2
    ensure_player()
    workdir = Path(tempfile.mkdtemp(prefix="socialflow-bench-live-player-"))
    report: dict[str, Any] = {
        "seconds": args.seconds,
        "join_after_s": args.join_after,
        "machine": {"cpus": os.cpu_count(), "load_before": round(os.getloadavg()[0], 2)},
        "socialflow": [],
    }
    status = 0
    try:
        for part, hold in cases:
            report["socialflow"].append(
                run_ours_in_players(workdir, args.seconds, part, args.join_after, hold)
            )
            log.info("ours at %g s parts, hold-back %g parts: done", part, hold)
        if args.no_peer:
            report["nginx_rtmp"] = {"skipped": "--no-peer"}
        else:
            try:
                report["nginx_rtmp"] = run_nginx_in_players(
                    workdir, args.seconds, args.join_after, NGINX_MODULE
                )
            except BenchError as exc:
                log.error("nginx-rtmp: %s", exc)
                report["nginx_rtmp"] = {"skipped": str(exc)}
                status = 1
        report["machine"]["load_after"] = round(os.getloadavg()[0], 2)
        report["targets"] = player_targets(report)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log.info("kept %s", workdir)
    write_json(output / "live-player.json", report)
    plot_players(report, output / "live-player.png")
    log.info("wrote %s and %s", output / "live-player.json", output / "live-player.png")
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialflow bench live", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds published to each system")
    parser.add_argument("--no-peer", action="store_true", help="skip nginx-rtmp")
    parser.add_argument(
        "--segments", default="1,2,4", help="segment lengths in seconds to compare at (WHEP runs at 2 only)"
    )
    parser.add_argument("--output", type=Path, help="results folder")
    player = parser.add_argument_group("real players (--player: hls.js, shaka-player and WHEP in Chromium)")
    player.add_argument("--player", action="store_true", help="measure in real players instead")
    player.add_argument(
        "--parts",
        default="0.5,0.5:3,0.2,0.2:3",
        help="part lengths in seconds to measure, each with its PART-HOLD-BACK in parts after a colon "
        "(the platform's default, 2)",
    )
    player.add_argument(
        "--join-after", type=float, default=12.0, help="seconds before the second viewer joins"
    )
    player.add_argument("--keep", action="store_true", help="keep the work folder (server and player logs)")
    capacity = parser.add_argument_group("capacity (--capacity: streams one machine keeps up with)")
    capacity.add_argument("--capacity", action="store_true", help="measure capacity instead of latency")
    capacity.add_argument("--modes", default="passthrough,ladder", help="passthrough, ladder or both")
    capacity.add_argument("--size", default="1280x720", help="the published clip's WIDTHxHEIGHT")
    capacity.add_argument("--fps", type=int, default=30, help="the published clip's frame rate")
    capacity.add_argument("--max-streams", type=int, default=64, help="the most streams tried")
    capacity.add_argument("--ingest-cpus", default="", help="pin the ingest to these cores, e.g. 0,1")
    return parser


def main(argv: list[str], output: Path) -> int:
    """Run the benchmark; write ``live.json`` and ``live.png`` into ``output``. 0 when all ran."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("httpx", "aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    if args.output is not None:
        output = args.output.resolve()
        output.mkdir(parents=True, exist_ok=True)
    if args.seconds < 3:
        log.error("--seconds must be at least 3")
        return 2
    if args.player:
        if args.seconds < args.join_after + 5:
            log.error("--player needs --seconds at least 5 more than --join-after")
            return 2
        return run_players(args, output)
    if args.capacity:
        if args.seconds < 12 or set(args.modes.split(",")) - {"passthrough", "ladder"}:
            log.error("--capacity needs --seconds of at least 12 and --modes among passthrough,ladder")
            return 2
        return run_capacity(args, output)
    try:
        lengths = sorted({float(x) for x in args.segments.split(",") if x.strip()})
    except ValueError:
        lengths = []
    if not lengths or any(not 1.0 <= x <= 10.0 for x in lengths):
        log.error("--segments takes segment lengths of 1 to 10 seconds, e.g. 1,2,4")
        return 2
    main_length = 2.0 if 2.0 in lengths else lengths[0]
    workdir = Path(tempfile.mkdtemp(prefix="socialflow-bench-live-"))
    report: dict[str, Any] = {"seconds": args.seconds, "width": WIDTH, "height": HEIGHT, "fps": FPS}
    report["by_segment"] = []
    status = 0
    try:
        for length in lengths:
            ours = run_ours(workdir, args.seconds, length, webrtc=length == main_length)
            row: dict[str, Any] = {"segment_s": length, "socialflow": ours}
            if length == main_length:
                report["socialflow"] = ours
            if args.no_peer:
                row["nginx_rtmp"] = {"skipped": "--no-peer"}
            else:
                try:
                    row["nginx_rtmp"] = run_nginx(workdir, args.seconds, length)
                except BenchError as exc:
                    log.error("nginx-rtmp: %s", exc)
                    row["nginx_rtmp"] = {"skipped": str(exc)}
                    status = 1
            if length == main_length:
                report["nginx_rtmp"] = row["nginx_rtmp"]
            report["by_segment"].append(row)
        report["targets"] = targets(report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_json(output / "live.json", report)
    plot_results(report, output / "live.png")
    log.info("wrote %s and %s", output / "live.json", output / "live.png")
    return status
