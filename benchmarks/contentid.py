"""``socialflow bench contentid``: Content-ID accuracy and speed, ours beside the public peers.

One run, on real game music from Debian packages (fetched into a cache, see
``benchmarks._contentid_data``):

* audio top-1 accuracy per degradation (clean, white noise at 10 and 5 dB SNR, AAC and MP3 at
  64 kbit/s, -12 dB volume, +-3% speed, embedded in other music) and query length (5 s, 10 s),
  offset accuracy (within 1 s) and the false-positive rate on excerpts of music not in the index,
  for ours and audfprint (``--audfprint DIR``, run from that copy of its source);
* whole-file identification (the first 60 s of a track under each degradation) for ours,
  audfprint and Chromaprint's ``fpcalc`` (when on PATH);
* ingest speed (hours of audio per hour of CPU, one core) and query time;
* video top-1 accuracy per edit (re-encode, rescale, letterbox, crop 10%, brightness, overlay,
  hflip) for ours, and vPDQ when it can be installed;
* a scale simulation: query latency and memory of an index of synthetic landmarks equivalent to
  ``--scale-hours`` of audio, with the 10,000-hour point extrapolated when it does not fit.

Writes ``contentid.json`` and ``contentid.png``. Targets are reported pass/fail, never asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _contentid_audio as audio
from benchmarks import _contentid_data as data
from benchmarks import _contentid_peers as peers
from benchmarks import _contentid_scale as scale
from benchmarks import _contentid_video as video
from benchmarks._common import BenchError, write_json
from benchmarks._contentid_peers import PeerAnswer
from benchmarks._contentid_plot import plot
from benchmarks._contentid_targets import targets
from fingerprint import MediaFingerprint, decode_audio, find_peaks

__all__ = ["main", "parse_args"]

log = logging.getLogger("benchmarks.contentid")

WHOLE_SECONDS = 60.0
WHOLE_DEGRADATIONS = ("clean", "noise10", "noise5", "aac64", "mp364", "volume", "speed+3", "speed-3")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="socialflow bench contentid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (one package, few queries)")
    parser.add_argument("--no-peers", action="store_true", help="skip audfprint, fpcalc and vPDQ")
    parser.add_argument("--audfprint", type=Path, help="folder with a copy of github.com/dpwe/audfprint")
    parser.add_argument("--packages", help="comma-separated Debian music packages")
    parser.add_argument("--queries", type=int, help="queries per degradation and length")
    parser.add_argument("--lengths", help="query lengths in seconds (default 5,10; quick: 10)")
    parser.add_argument(
        "--negative-every", type=int, default=5, help="every Nth track is kept out of the index"
    )
    parser.add_argument("--max-seconds", type=float, help="index at most this much of each track")
    parser.add_argument("--scale-hours", help="comma-separated index sizes for the scale simulation")
    parser.add_argument(
        "--scale-max-gib", type=float, help="largest index simulated (default: half of free RAM)"
    )
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--cache", type=Path, default=data.CACHE, help="where Debian packages are unpacked")
    args = parser.parse_args(argv)
    quick = args.quick
    args.packages = (args.packages or ("asc-music" if quick else ",".join(data.PACKAGES))).split(",")
    args.queries = args.queries or (1 if quick else 20)
    args.lengths = [float(x) for x in (args.lengths or ("10" if quick else "5,10")).split(",")]
    args.whole_seconds = 15.0 if quick else WHOLE_SECONDS
    args.max_seconds = args.max_seconds or (45.0 if quick else None)
    args.scale_hours = [
        float(x) for x in (args.scale_hours or ("0.1" if quick else "1,10,100,1000")).split(",")
    ]
    if args.scale_max_gib is None:
        args.scale_max_gib = _available_gib() / 2
    return args


def _available_gib() -> float:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    return 4.0


def _split(
    tracks: list[data.Track], every: int, max_seconds: float | None
) -> tuple[list[data.Track], list[data.Track]]:
    if max_seconds is not None:
        tracks = [data.Track(t.path, min(t.duration, max_seconds)) for t in tracks]
    if len(tracks) < 2:
        raise BenchError("the benchmark needs at least two tracks (one reference, one negative)")
    negatives = [t for i, t in enumerate(tracks) if i % every == every - 1] or tracks[-1:]
    references = [t for t in tracks if t not in negatives]
    names = {t.path.name for t in references}
    shared = [
        t
        for t in negatives
        if t.path.name in data.SHARED_MUSIC and data.SHARED_MUSIC[t.path.name].reference in names
    ]
    for t in shared:
        log.info(
            "not a negative: %s holds the music of %s", t.path.name, data.SHARED_MUSIC[t.path.name].reference
        )
    return references, [t for t in negatives if t not in shared] or negatives


def _audfprint(
    args: argparse.Namespace, refs: list[data.Track], specs: list[data.QuerySpec], work: Path
) -> dict[str, Any]:
    if args.no_peers:
        return {"skipped": "--no-peers"}
    if args.audfprint is None:
        return {"skipped": "no --audfprint DIR given"}
    runner = peers.Audfprint(args.audfprint.resolve(), work / "audfprint")
    wall, cpu = runner.ingest([t.path for t in refs])
    answers, q_wall, q_cpu = runner.match([s.file for s in specs])
    audio_s = sum(data.probe_duration(t.path) for t in refs)
    return {
        "answers": {name: a.__dict__ for name, a in answers.items()},
        "ingest": {
            "wall_s": wall,
            "cpu_s": cpu,
            "audio_seconds": audio_s,
            "realtime_per_core": audio_s / max(cpu, 1e-9),
        },
        "query": {
            "queries": len(specs),
            "wall_s_total": q_wall,
            "ms_per_query": q_wall * 1000 / max(1, len(specs)),
        },
        "_answers": answers,
    }


def _fpcalc(args: argparse.Namespace, refs: list[data.Track], specs: list[data.QuerySpec]) -> dict[str, Any]:
    if args.no_peers:
        return {"skipped": "--no-peers"}
    if peers.fpcalc_available() is None:
        return {"skipped": "not installed"}
    ref_fps = [peers.fpcalc_raw(t.path) for t in refs]
    answers: dict[str, peers.PeerAnswer] = {}
    for spec in specs:
        best, _ = peers.fpcalc_identify(peers.fpcalc_raw(spec.file), ref_fps)
        answers[spec.name] = peers.PeerAnswer(best)
    return {"_answers": answers}


def _scale(
    args: argparse.Namespace,
    kept: list[Any],
    pos: Path,
    neg: Path,
    rate: float,
    work: Path,
    specs: list[data.QuerySpec],
) -> dict[str, Any]:
    """Latency and memory per index size; each size also answers the accuracy queries
    (``specs``), so that the top-1 table is known at scale, not only against the real tracks."""
    folder = work / "scale"
    positive = MediaFingerprint(find_peaks(decode_audio(pos, max_seconds=10.0)), None, 10.0)
    negative = MediaFingerprint(find_peaks(decode_audio(neg, max_seconds=10.0)), None, 10.0)
    scale.write_inputs(folder, kept, positive, negative)
    (folder / "queries.json").write_text(json.dumps({spec.name: str(spec.file) for spec in specs}))
    points, skipped = [], []
    for hours in args.scale_hours:
        # The index is built in place (CSR in two passes): its own size plus about half a GiB.
        need = scale.estimate_mib(hours, rate) * 1.1 / 1024 + 0.5
        if need > args.scale_max_gib:
            skipped.append(
                {"hours": hours, "reason": f"needs about {need:.0f} GiB, limit {args.scale_max_gib:.0f}"}
            )
            continue
        log.info("scale point: %g hours", hours)
        point = scale.run_point(hours, rate, folder)
        answers = {
            name: PeerAnswer(None) if a is None else PeerAnswer(int(a[0]), a[1], a[2])
            for name, a in point.pop("answers", {}).items()
        }
        point["accuracy"] = audio.score(specs, answers)
        points.append(point)
    return {
        "landmarks_per_second": rate,
        "points": points,
        "skipped": skipped,
        "extrapolated": scale.extrapolate(points, (1000.0, 10000.0), rate),
    }


def main(argv: list[str], output: Path) -> int:
    """Run the benchmark (see the module docstring); 0 on success, 2 when it cannot run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="contentid-bench-"))
    started = time.perf_counter()
    try:
        result = _run(args, work)
    except BenchError as exc:
        log.error("%s", exc)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["elapsed_s"] = time.perf_counter() - started
    result["targets"] = targets(result)
    write_json(output / "contentid.json", result)
    plot(result, output / "contentid.png")
    return 0


class _Phases:
    """Wall seconds per phase of the run, for the JSON (``phases_s``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 2)
        self._last = now
        log.info("%s: %.1f s", name, self.seconds[name])


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    phases = _Phases()
    tracks = data.find_tracks(args.packages, min_seconds=20.0, cache=args.cache)
    refs, negs = _split(tracks, args.negative_every, args.max_seconds)
    log.info("%d references, %d negatives", len(refs), len(negs))
    phases.done("fetch")
    index, ingest, kept, refs = audio.ingest(refs, args.max_seconds)
    phases.done("ingest")
    specs = data.make_queries(refs, negs, args.lengths, args.queries, work / "queries")
    whole = data.make_queries(
        refs,
        negs,
        [min(args.whole_seconds, min(t.duration for t in refs))],
        args.queries,
        work / "whole",
        degradations=WHOLE_DEGRADATIONS,
        from_start=True,
    )
    phases.done("queries")
    runs = audio.query_ours(index, specs, {"ours": {}, "ours_speed_fallback": {"speed_fallback": True}})
    (ours, timing), (fallback, fallback_timing) = runs["ours"], runs["ours_speed_fallback"]
    whole_ours, _ = audio.query_ours(index, whole, {"ours": {}})["ours"]
    phases.done("ours")
    result: dict[str, Any] = {
        "benchmark": "contentid",
        "quick": args.quick,
        "cpu_count": os.cpu_count(),
        "data": {
            "packages": args.packages,
            "references": len(refs),
            "negatives": len(negs),
            "reference_hours": sum(t.duration for t in refs) / 3600,
            "queries": len(specs),
            "whole_file_queries": len(whole),
            "per_case": args.queries,
            "reference_files": [t.path.name for t in refs],
            "negative_files": [t.path.name for t in negs],
            "shared_music_not_negatives": data.shared_music_evidence(tracks),
        },
        "audio": {
            "ours": {**audio.score(specs, ours), "ingest": ingest, "query": timing},
            "ours_speed_fallback": {**audio.score(specs, fallback), "query": fallback_timing},
        },
        "whole_file": {"ours": audio.score(whole, whole_ours)},
    }
    af = _audfprint(args, refs, specs + whole, work)
    if "_answers" in af:
        answers = af.pop("_answers")
        af.pop("answers")
        result["audio"]["audfprint"] = {**audio.score(specs, answers), **af}
        result["whole_file"]["audfprint"] = audio.score(whole, answers)
    else:
        result["audio"]["audfprint"] = af
    phases.done("audfprint")
    fp = _fpcalc(args, refs, whole)
    result["whole_file"]["fpcalc"] = audio.score(whole, fp.pop("_answers")) if "_answers" in fp else fp
    phases.done("fpcalc")
    if not args.no_video:
        result["video"] = _video(args, work)
        phases.done("video")
    negative = (
        next(s.file for s in specs if s.reference < 0 and s.length >= 10)
        if any(s.reference < 0 and s.length >= 10 for s in specs)
        else negs[0].path
    )
    positive = next((s.file for s in specs if s.degradation == "clean" and s.length >= 10), refs[0].path)
    result["scale"] = _scale(args, kept, positive, negative, ingest["landmarks_per_second"], work, specs)
    phases.done("scale")
    result["phases_s"] = phases.seconds
    return result


def _video(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    seconds, length = (12.0, 6.0) if args.quick else (40.0, 10.0)
    n_refs, n_negs = (2, 1) if args.quick else (24, 6)
    refs = video.make_clips(n_refs, seconds, work / "clips")
    negs = video.make_clips(n_negs, seconds, work / "clips", offset=n_refs)
    # Three times as many negative excerpts as each edit gets: a false-positive rate needs more.
    n_neg_excerpts = args.queries if args.quick else 3 * args.queries
    queries = video.make_queries(
        refs, negs, seconds, length, args.queries, work / "vq", negative_excerpts=n_neg_excerpts
    )
    out: dict[str, Any] = {
        "clips": n_refs,
        "negative_clips": n_negs,
        "negative_excerpts": n_neg_excerpts,
        "clip_seconds": seconds,
        "query_seconds": length,
        "ours": video.run_ours(refs, queries),
    }
    status = peers.vpdq_status()
    if args.no_peers:
        out["vpdq"] = {"skipped": "--no-peers"}
    elif status is not None:
        out["vpdq"] = {"skipped": status}
    else:
        out["vpdq"] = video.run_vpdq(refs, queries)
    return out
