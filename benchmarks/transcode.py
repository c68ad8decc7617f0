"""``socialflow bench transcode``: ABR ladder transcoding, ours beside the ffmpeg CLI, in one run.

For a 720p and a 1080p clip (60 s each by default, 30 fps, synthetic but noisy; see
:class:`benchmarks._transcode_ffmpeg.Clip`), the ladder :func:`pipelines.build_ladder` gives
(libx264, preset ``veryfast``, 4 s segments, one GOP per segment, no B-frames) is encoded by:

* ``ffmpeg-split``: one ffmpeg process, decode once, ``split`` filter to every rung (the
  practical limit for a CPU encoder);
* ``ffmpeg-per-rung``: one ffmpeg process per rung, one after another, audio in one more
  (how PeerTube transcodes);
* ``socialflow``: :func:`pipelines.transcode`, one decoding pass for all rungs.

Each gets wall seconds, the realtime factor (clip seconds per wall second) and each rung's
PSNR against the source scaled to its size. Then chunked mode: the 720p clip at 120 s in
runs of ``--segments-per-run`` segments, with 1 and then 2 worker processes. Results go to
``transcode.json`` and ``transcode.png``. Targets are reported with pass/fail, never asserted.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import BenchError, grouped_bars, write_json
from benchmarks._transcode_chunked import chunked_transcode, cpu_seconds
from benchmarks._transcode_ffmpeg import (
    Clip,
    ffmpeg_version,
    join_rendition,
    make_clip,
    per_rung_commands,
    psnr,
    run_commands,
    split_command,
)
from pipelines import LadderConfig, Rung, build_ladder, probe, transcode

__all__ = ["CONTENDERS", "main", "plot_results", "run_clip", "targets"]

log = logging.getLogger("benchmarks.transcode")

SEGMENT_DURATION = 4.0
CONTENDERS = ("ffmpeg-split", "ffmpeg-per-rung", "socialflow")
WITHIN_SPLIT = 1.10
CHUNKED_SPEEDUP = 1.7


def _ladder(src: Path, rungs: int | None) -> list[Rung]:
    ladder = build_ladder(probe(src), LadderConfig(encoder="libx264"))
    return ladder[:rungs] if rungs else ladder


def _contender(name: str, src: Path, ladder: list[Rung], out: Path) -> Callable[[], None]:
    if name == "ffmpeg-split":
        return lambda: run_commands([split_command(src, ladder, out, SEGMENT_DURATION)])
    if name == "ffmpeg-per-rung":
        return lambda: run_commands(per_rung_commands(src, ladder, out, SEGMENT_DURATION))
    return lambda: None if transcode(src, out, ladder, segment_duration=SEGMENT_DURATION) else None


def run_clip(clip: Clip, src: Path, ladder: list[Rung], workdir: Path, repeat: int) -> list[dict[str, Any]]:
    """Every contender on ``src`` (best wall time of ``repeat``), then PSNR of its renditions."""
    results = []
    for name in CONTENDERS:
        out = workdir / clip.name / name
        entry: dict[str, Any] = {"clip": clip.name, "contender": name, "seconds": None, "error": None}
        try:
            times: list[float] = []
            cpus: list[float] = []
            for _ in range(repeat):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                started, cpu = time.perf_counter(), cpu_seconds()
                _contender(name, src, ladder, out)()
                times.append(time.perf_counter() - started)
                cpus.append(cpu_seconds() - cpu)
            entry["seconds"] = min(times)
            entry["all_seconds"] = times
            entry["realtime"] = clip.duration / min(times)
            entry["cpu_seconds"] = cpus[times.index(min(times))]
            values = psnr(src, [(rung, join_rendition(out / rung.name)) for rung in ladder])
            entry["psnr_db"] = {rung.name: round(v, 3) for rung, v in zip(ladder, values, strict=True)}
        except (BenchError, OSError, ValueError) as exc:
            log.exception("%s on %s failed", name, clip.name)
            entry["error"] = f"{type(exc).__name__}: {exc}"
        log.info("%s", entry)
        results.append(entry)
        shutil.rmtree(out, ignore_errors=True)
    return results


def _seconds(results: list[dict[str, Any]], clip: str, contender: str) -> float | None:
    found = [r["seconds"] for r in results if r["clip"] == clip and r["contender"] == contender]
    return found[0] if found else None


def targets(results: list[dict[str, Any]], chunked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with the figures it compares and ``passed`` (None when it could not be judged)."""
    found: list[dict[str, Any]] = []
    for clip in dict.fromkeys(r["clip"] for r in results):
        ours = _seconds(results, clip, "socialflow")
        split = _seconds(results, clip, "ffmpeg-split")
        per_rung = _seconds(results, clip, "ffmpeg-per-rung")
        ratio = ours / split if ours and split else None
        found.append(
            {
                "id": f"within-{WITHIN_SPLIT:.2f}x-of-ffmpeg-split:{clip}",
                "target": f"{clip}: wall time at most {WITHIN_SPLIT:.2f}x ffmpeg's one-process split",
                "ratio": ratio,
                "passed": ratio <= WITHIN_SPLIT if ratio is not None else None,
            }
        )
        found.append(
            {
                "id": f"faster-than-per-rung:{clip}",
                "target": f"{clip}: faster than one ffmpeg process per rung",
                "ratio": ours / per_rung if ours and per_rung else None,
                "passed": ours < per_rung if ours and per_rung else None,
            }
        )
    by_workers = {c["workers"]: c["seconds"] for c in chunked if c.get("seconds")}
    speedup = by_workers[1] / by_workers[2] if 1 in by_workers and 2 in by_workers else None
    found.append(
        {
            "id": f"chunked-2-workers-{CHUNKED_SPEEDUP:g}x",
            "target": f"chunked mode: 2 worker processes at least {CHUNKED_SPEEDUP:g}x faster than 1",
            "speedup": speedup,
            "passed": speedup >= CHUNKED_SPEEDUP if speedup is not None else None,
        }
    )
    return found


def plot_results(report: dict[str, Any], path: Path) -> None:
    """Two panels: wall seconds per clip and contender; chunked wall seconds per worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["contenders"]
    clips = list(dict.fromkeys(r["clip"] for r in results))
    table = {(r["clip"], r["contender"]): r["seconds"] for r in results}
    series = {c: [table.get((clip, c)) for clip in clips] for c in CONTENDERS}
    figure, (ladder, chunked) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=(2, 1))
    grouped_bars(
        ladder, clips, series, ylabel="wall seconds (lower is better)", title="whole ladder, one clip"
    )
    ladder.legend(fontsize=8)
    runs = report["chunked"]["results"]
    labels = [f"{r['workers']} worker(s), x264 threads {r['x264_threads_per_encoder']}" for r in runs]
    grouped_bars(
        chunked,
        [report["chunked"]["clip"]["name"]],
        {label: [r.get("seconds")] for label, r in zip(labels, runs, strict=True)},
        ylabel="wall seconds",
        title="ours, chunked mode",
    )
    chunked.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialflow bench transcode", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 2 s 360p/480p clips, 2 rungs, 8 s chunked"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each ladder clip")
    parser.add_argument("--chunked-duration", type=float, default=120.0, help="seconds of the chunked clip")
    parser.add_argument("--segments-per-run", type=int, default=5, help="chunked mode: 4 s segments per run")
    parser.add_argument("--rungs", type=int, help="keep only the top N rungs of each ladder")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the best counts")
    parser.add_argument("--workers", default="1,2", help="chunked mode: worker process counts")
    parser.add_argument(
        "--pin-cores",
        action="store_true",
        help="chunked mode: one core per worker process, as if each were a one-core machine",
    )
    parser.add_argument("--chunked-only", action="store_true", help="skip the ladder contenders")
    parser.add_argument("--output", type=Path, help="results folder (overrides the one given)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path.home() / ".cache" / "socialflow-bench" / "transcode",
        help="where generated clips are kept between runs",
    )
    parser.add_argument("--workdir", type=Path, help="folder for the renditions (default: a temp dir)")
    return parser


def _clips(args: argparse.Namespace) -> tuple[list[Clip], Clip]:
    if args.quick:
        return [Clip("360p", 640, 360, 2.0), Clip("480p", 854, 480, 2.0)], Clip("360p-long", 640, 360, 8.0)
    ladder = [Clip("720p", 1280, 720, args.duration), Clip("1080p", 1920, 1080, args.duration)]
    return ladder, Clip("720p-long", 1280, 720, args.chunked_duration)


def main(argv: list[str], output: Path) -> int:
    """Run the benchmark; write ``transcode.json`` and ``transcode.png`` into ``output``. 0 when all ran."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    if args.output is not None:
        output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    rungs = args.rungs or (2 if args.quick else None)
    segments_per_run = 1 if args.quick else args.segments_per_run
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if min(args.duration, args.chunked_duration) <= 0 or args.repeat < 1 or not workers or min(workers) < 1:
        log.error("durations, --repeat and --workers must be positive")
        return 2
    clips, long_clip = _clips(args)
    workdir = Path(tempfile.mkdtemp(prefix="socialflow-bench-transcode-", dir=args.workdir))
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    clip_info: list[dict[str, Any]] = []
    chunked: list[dict[str, Any]] = []
    try:
        for clip in [] if args.chunked_only else clips:
            src = make_clip(clip, args.cache_dir)
            ladder = _ladder(src, rungs)
            clip_info.append({"name": clip.name, "description": clip.description, "file": str(src)}
                             | {"ladder": [_rung_json(r) for r in ladder]})  # fmt: skip
            results += run_clip(clip, src, ladder, workdir, args.repeat)
        src = make_clip(long_clip, args.cache_dir)
        info = probe(src)
        ladder = _ladder(src, rungs)
        for count in workers:
            out = workdir / f"chunked-{count}"
            try:
                chunked.append(chunked_transcode(src, out, ladder, info, workers=count,
                                                 segments_per_run=segments_per_run,
                                                 segment_duration=SEGMENT_DURATION,
                                                 pin=args.pin_cores))  # fmt: skip
            except (BenchError, OSError, ValueError) as exc:
                log.exception("chunked mode with %d workers failed", count)
                chunked.append({"workers": count, "seconds": None, "error": f"{type(exc).__name__}: {exc}"})
            log.info("chunked: %s", chunked[-1])
            shutil.rmtree(out, ignore_errors=True)
    except BenchError as exc:
        log.error("%s", exc)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "benchmark": "transcode",
        "quick": args.quick,
        "units": {
            "seconds": "wall clock",
            "cpu_seconds": "user + system CPU of this process and its children",
            "realtime": "clip seconds per wall second",
            "psnr_db": "dB",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": sys.platform,
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },  # fmt: skip
        "ffmpeg": ffmpeg_version(),
        "settings": {
            "segment_duration": SEGMENT_DURATION,
            "gop": "one segment, closed, scenecut=0",
            "bframes": 0,
            "scaler": "bicubic",
            "repeat": args.repeat,
        },  # fmt: skip
        "clips": clip_info,
        "contenders": results,
        "chunked": {
            "clip": {
                "name": long_clip.name,
                "description": long_clip.description,
                "ladder": [_rung_json(r) for r in ladder],
            },
            "results": chunked,
        },  # fmt: skip
        "targets": targets(results, chunked),
    }
    write_json(output / "transcode.json", report)
    plot_results(report, output / "transcode.png")
    failed = any(r["error"] for r in results) or any(c.get("error") for c in chunked)
    return 1 if failed else 0


def _rung_json(rung: Rung) -> dict[str, Any]:
    return {"name": rung.name, "width": rung.width, "height": rung.height, "fps": rung.fps,
            "video_bitrate": rung.video_bitrate, "audio_bitrate": rung.audio_bitrate,
            "encoder": rung.encoder, "preset": rung.preset}  # fmt: skip
