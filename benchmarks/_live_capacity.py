"""Live ingest capacity: how many concurrent RTMP streams one machine keeps up with, passthrough
(the source repackaged) and with the transcoded ladder.

A trial runs our RTMP ingest in a process of its own (``python -m benchmarks._live_capacity``:
``rtmp.serve`` with ``LocalLiveSinks``, the packaging ``LiveSink`` of the platform writing local
files) and N ffmpeg publishers that copy one pre-encoded clip in real time (``-re -c copy``, so
they cost almost nothing). A watcher reads every rendition's live playlist four times a second:
the live edge is the newest segment's program date-time plus the parts after it, and a
rendition's lag is ``now - edge`` in seconds. The edge moves a part at a time, so the lag is a
saw-tooth; its floor (the smallest lag over a few seconds) is what is compared. A stream keeps up
when, for every rendition, parts appear until the end, the lag floor of the last seconds exceeds
that of the first seconds after warm-up by less than ``MAX_GROWTH_S``, the lag stays under
``MAX_LAG_S``, and the ingest dropped no frame to catch up. The largest N is found by doubling,
then bisection. ``--ingest-cpus`` pins the ingest to some cores (to stand for a smaller machine)
and the publishers to the others.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from benchmarks._common import BenchError, free_port

__all__ = ["CapacityOptions", "find_capacity", "plot_capacity", "lags_of_playlist"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
WARMUP_S = 5.0
WINDOW_S = 3.0
MAX_GROWTH_S = 0.5
MAX_LAG_S = 4.0
_DATE = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")
_PART = re.compile(r"#EXT-X-PART:DURATION=([0-9.]+)")


@dataclass(frozen=True)
class CapacityOptions:
    """``seconds`` each trial publishes; ``size`` and ``fps`` of the clip; ``bitrate`` in kb/s."""

    seconds: float = 30.0
    ingest_cpus: tuple[int, ...] = ()
    width: int = 1280
    height: int = 720
    fps: int = 30
    bitrate_kbps: int = 3000
    max_streams: int = 64


def lags_of_playlist(text: str, now: float) -> float | None:
    """Seconds between ``now`` (Unix) and the live edge of a media playlist, or None when it has
    no program date-time: the newest segment's date-time plus the durations of the parts (or
    the full segments) listed after it."""
    dates = list(_DATE.finditer(text))
    if not dates:
        return None
    last = dates[-1]
    start = datetime.fromisoformat(last.group(1).replace("Z", "+00:00")).timestamp()
    after = text[last.end() :]
    parts = [float(d) for d in _PART.findall(after)]
    if not parts:
        parts = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", after)]
    return now - (start + sum(parts))


def make_clip(path: Path, options: CapacityOptions) -> None:
    """10 s of H.264 (2 s GOP, ``bitrate_kbps``) and AAC in FLV, looped by each publisher."""
    args = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={options.width}x{options.height}:rate={options.fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * options.fps),
        "-b:v", f"{options.bitrate_kbps}k", "-maxrate", f"{options.bitrate_kbps}k",
        "-bufsize", f"{options.bitrate_kbps}k", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(path),
    ]  # fmt: skip
    subprocess.run(args, check=True)


@dataclass
class Watch:
    """Lag samples ``(seconds since the trial started, lag)`` per stream and rendition."""

    started: float
    samples: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)


def _renditions(folder: Path) -> list[str]:
    master = folder / "master.m3u8"
    if not master.exists():
        return ["index.m3u8"]
    return [line for line in master.read_text().splitlines() if line.endswith(".m3u8")]


def _watch(root: Path, streams: list[str], watch: Watch) -> None:
    while not watch.stop.wait(0.25):
        now = time.time()
        for stream in streams:
            folder = root / stream / "hls"
            for name in _renditions(folder):
                try:
                    lag = lags_of_playlist((folder / name).read_text(), now)
                except (OSError, ValueError):
                    continue
                if lag is not None:
                    watch.samples.setdefault(stream, {}).setdefault(name, []).append(
                        (now - watch.started, lag)
                    )


def _judge(samples: list[tuple[float, float]], seconds: float) -> dict[str, Any]:
    steady = [(t, lag) for t, lag in samples if t >= WARMUP_S]
    if not steady or steady[-1][0] < seconds - 2.0:
        return {"ok": False, "why": "no parts in the last seconds"}
    first = [lag for t, lag in steady if t < WARMUP_S + WINDOW_S]
    last = [lag for t, lag in steady if t > steady[-1][0] - WINDOW_S]
    growth = min(last) - min(first or last)
    worst = max(lag for _, lag in steady)
    ok = growth < MAX_GROWTH_S and worst < MAX_LAG_S
    return {"ok": ok, "lag_growth_s": round(growth, 3), "max_lag_s": round(worst, 3)}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the capacity ingest exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise BenchError("the capacity ingest did not start listening")


def run_trial(
    workdir: Path, clip: Path, streams: int, ladder: bool, options: CapacityOptions
) -> dict[str, Any]:
    """Publish ``streams`` streams for ``options.seconds``; whether every one kept up, and why not."""
    root, port = workdir / f"{'ladder' if ladder else 'passthrough'}-{streams}", free_port()
    root.mkdir(parents=True)
    stats = root / "stats.json"
    command = [sys.executable, "-m", "benchmarks._live_capacity", "--port", str(port), "--root", str(root)]
    command += ["--streams", str(streams), "--stats", str(stats)] + ([] if ladder else ["--no-ladder"])
    if options.ingest_cpus:
        command += ["--cpus", ",".join(map(str, options.ingest_cpus))]
    others = sorted(os.sched_getaffinity(0) - set(options.ingest_cpus))
    with open(root / "ingest.log", "wb") as output:
        ingest = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    publishers: list[subprocess.Popen[bytes]] = []
    try:
        _wait_port(port, ingest)
        names = [f"s{i}" for i in range(streams)]
        watch = Watch(time.time())
        watcher = threading.Thread(target=_watch, args=(root, names, watch), daemon=True)
        watcher.start()
        cpu_start, wall_start = _cpu_seconds(ingest.pid), time.monotonic()
        for i in range(streams):
            args = [
                imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                "-stream_loop", "-1", "-i", str(clip), "-t", str(options.seconds), "-c", "copy",
                "-f", "flv", f"rtmp://127.0.0.1:{port}/live/cap{i}",
            ]  # fmt: skip
            publisher = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if options.ingest_cpus and others:
                os.sched_setaffinity(publisher.pid, others)
            publishers.append(publisher)
        for publisher in publishers:
            publisher.wait(options.seconds + 60)
        cores = (_cpu_seconds(ingest.pid) - cpu_start) / (time.monotonic() - wall_start)
        watch.stop.set()
        watcher.join(5)
    finally:
        for publisher in publishers:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()
        if ingest.poll() is None:
            ingest.send_signal(signal.SIGTERM)
            try:
                ingest.wait(60)
            except subprocess.TimeoutExpired:
                ingest.kill()
                ingest.wait()
    dropped = json.loads(stats.read_text()) if stats.exists() else {}
    per_stream: dict[str, dict[str, Any]] = {}
    growths: list[float] = []
    for name in names:
        renditions = watch.samples.get(name, {})
        judged = {rendition: _judge(s, options.seconds) for rendition, s in renditions.items()}
        growths += [j.get("lag_growth_s", 99.0) for j in judged.values()]
        expected = 1 if not ladder else max(1, len(_renditions(root / name / "hls")))
        lost = int(dropped.get(name, {}).get("dropped", 0))
        ok = len(judged) >= expected and all(j["ok"] for j in judged.values()) and lost == 0
        per_stream[name] = {"ok": ok, "dropped_frames": lost, "renditions": judged}
    worst = max(growths, default=99.0)
    return {
        "streams": streams,
        "kept_up": all(s["ok"] for s in per_stream.values()),
        "ingest_cores": round(cores, 2),
        "worst_lag_growth_s": worst,
        "per_stream": per_stream,
    }


def find_capacity(workdir: Path, clip: Path, ladder: bool, options: CapacityOptions) -> dict[str, Any]:
    """The largest N that kept up (0 if even one stream did not), with every trial run."""
    trials: list[dict[str, Any]] = []

    def kept_up(n: int) -> bool:
        trial = run_trial(workdir, clip, n, ladder, options)
        trials.append(trial)
        log.info(
            "%s x%d: %s (ingest %.2f cores, worst lag growth %.2f s)",
            "ladder" if ladder else "passthrough",
            n,
            "kept up" if trial["kept_up"] else "fell behind",
            trial["ingest_cores"],
            trial["worst_lag_growth_s"],
        )
        return bool(trial["kept_up"])

    good, bad = 0, None
    n = 1
    while n <= options.max_streams:
        if not kept_up(n):
            bad = n
            break
        good, n = n, n * 2
    if bad is None:
        bad = min(n, options.max_streams + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        if kept_up(middle):
            good = middle
        else:
            bad = middle
    return {"max_streams": good, "trials": sorted(trials, key=lambda t: t["streams"])}


def plot_capacity(report: dict[str, Any], path: Path) -> None:
    """Ingest CPU (cores) against concurrent streams per mode, falling-behind trials marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for mode in ("passthrough", "ladder"):
        found = report.get(mode) or {}
        trials = found.get("trials") or []
        if not trials:
            continue
        xs = [t["streams"] for t in trials]
        line = axes.plot(
            xs, [t["ingest_cores"] for t in trials], marker="o", label=f"{mode} (max {found['max_streams']})"
        )
        behind = [t for t in trials if not t["kept_up"]]
        axes.scatter(
            [t["streams"] for t in behind],
            [t["ingest_cores"] for t in behind],
            marker="x",
            s=80,
            color=line[0].get_color(),
        )
    source, machine = report["source"], report["machine"]
    pinned = machine.get("ingest_cpus")
    cores = len(pinned) if isinstance(pinned, list) else machine["cpus"]
    axes.set_xlabel("concurrent RTMP streams (x: fell behind)")
    axes.set_ylabel("ingest CPU, cores")
    axes.set_title(f"Live capacity, ingest on {cores} cores ({source}, {report['seconds']:g} s trials)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _serve(args: argparse.Namespace) -> None:
    """The ingest of one trial: keys ``cap{i}`` map to streams ``s{i}``; writes each stream's
    frames dropped by the ladder to ``--stats`` when stopped (SIGTERM)."""
    from pipelines.live import LiveSettings, LocalLiveSinks
    from rtmp import StaticAuthorizer
    from rtmp.main import serve

    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})  # before any thread starts
    sinks = LocalLiveSinks(args.root, LiveSettings(ladder=args.ladder))
    authorizer = StaticAuthorizer({f"cap{i}": f"s{i}" for i in range(args.streams)})

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve("127.0.0.1", args.port, authorizer, sinks, stop)

    asyncio.run(main())
    stats = {
        name: {"dropped": sink.ladder.dropped if sink.ladder is not None else 0}
        for name, sink in sinks.sinks.items()
    }
    args.stats.write_text(json.dumps(stats))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one capacity trial's RTMP ingest")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--no-ladder", dest="ladder", action="store_false")
    parser.add_argument("--cpus", default="", help="cores to pin the ingest to, e.g. 0,1")
    logging.basicConfig(level=logging.WARNING)
    _serve(parser.parse_args())
