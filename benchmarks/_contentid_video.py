"""Video part of the Content-ID benchmark: generated clips, common edits, our frame-hash matcher.

Reference and negative clips are rendered by ffmpeg's lavfi sources with different seeds
(blurred cellular automata and Game of Life, Mandelbrot zooms): moving pictures that differ from clip
to clip, needing no download. A query is ``length`` seconds of a clip from a random start,
under one edit of :data:`EDITS` (ffmpeg filters), re-encoded with H.264.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import BenchError
from benchmarks._contentid_data import run_ffmpeg
from benchmarks._contentid_peers import PeerAnswer, vpdq_hashes, vpdq_identify
from fingerprint import FRAME_RATE, Matcher, VideoIndex, fingerprint_file, merge

SIZE = (320, 240)
FPS = 15
EDITS: dict[str, list[str]] = {
    "reencode": ["-vf", "null", "-crf", "38"],
    "rescale": ["-vf", "scale=160:120"],
    "letterbox": ["-vf", "scale=320:180,pad=320:240:0:30"],
    "crop10": ["-vf", "crop=iw*0.9:ih*0.9,scale=320:240"],
    "brightness": ["-vf", "eq=brightness=0.15"],
    "overlay": ["-vf", "drawbox=x=12:y=12:w=96:h=40:color=white@0.85:t=fill"],
    "hflip": ["-vf", "hflip"],
}
"""Edit name -> ffmpeg arguments applied to the query excerpt."""


MANDELBROT_POINTS = (
    (-0.743644, 0.131826),
    (0.2855, 0.0115),
    (-1.25066, 0.02012),
    (-0.1011, 0.9563),
    (-1.7685, 0.0017),
    (0.3245, 0.0425),
    (0.001644, 0.822468),
    (-0.1592, 1.0317),
    (-0.9254, 0.2661),
    (-0.5575, 0.6355),
)
"""Zoom centres on the set's boundary, one per Mandelbrot clip. (Zooms from the whole set's
overview, as before 2026-11-22, gave near-identical clips: 9 of 10 negatives matched one.)"""


def _source(k: int) -> str:
    """A lavfi graph for clip ``k``: a blurred scrolling cellular automaton, blurred Game of Life
    (blobs that grow and die) or a deep Mandelbrot zoom, each with its own rule, seed or centre.
    (Smooth colour gradients were tried first: vPDQ drops such frames as low quality.)"""
    w, h = SIZE
    kind = k % 3
    if kind == 0:
        rule = 30 + 15 * k % 200
        return f"cellauto=s={w}x{h}:rule={rule}:seed={k + 1}:rate={FPS}:scroll=1,gblur=sigma=2"
    if kind == 1:
        return f"life=s={w}x{h}:seed={k + 1}:ratio=0.{2 + k % 5}:mold={10 + k % 20}:rate={FPS},gblur=sigma=3"
    if k // 3 >= len(MANDELBROT_POINTS):
        # Another clip would zoom into a centre already used: the same clip, no negative.
        raise BenchError(f"clip {k} needs more MANDELBROT_POINTS (one per Mandelbrot clip)")
    x, y = MANDELBROT_POINTS[k // 3]
    return (
        f"mandelbrot=s={w}x{h}:rate={FPS}:start_x={x}:start_y={y}:start_scale=0.3:end_scale=0.001:end_pts=200"
    )


def make_clips(count: int, seconds: float, folder: Path, offset: int = 0) -> list[Path]:
    """``count`` H.264 clips of ``seconds`` each (numbered from ``offset``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(offset, offset + count):
        path = folder / f"clip{k:03d}.mp4"
        if not path.exists():
            run_ffmpeg(
                [
                    "-f",
                    "lavfi",
                    "-i",
                    _source(k),
                    "-t",
                    f"{seconds}",
                    "-pix_fmt",
                    "yuv420p",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    path,
                ]
            )
        out.append(path)
    return out


@dataclass(frozen=True)
class VideoQuery:
    """``length`` s of clip ``reference`` (-1: a negative clip) from ``start`` under ``edit``."""

    file: Path
    reference: int
    edit: str
    start: float
    length: float


def make_queries(
    refs: list[Path],
    negatives: list[Path],
    seconds: float,
    length: float,
    per_edit: int,
    folder: Path,
    negative_excerpts: int | None = None,
) -> list[VideoQuery]:
    """Edited excerpts: ``per_edit`` per edit from references, then ``negative_excerpts``
    (default ``per_edit``) plain excerpts of the negative clips. The edited excerpts do not
    depend on the number of negative ones."""
    rng = np.random.default_rng(11)
    folder.mkdir(parents=True, exist_ok=True)
    out: list[VideoQuery] = []
    for edit in [*EDITS, "negative"]:
        count = per_edit if edit != "negative" or negative_excerpts is None else negative_excerpts
        for _ in range(count):
            pool = negatives if edit == "negative" else refs
            which = int(rng.integers(len(pool)))
            start = round(float(rng.uniform(0.0, seconds - length - 0.5)), 2)
            file = folder / f"v{len(out):04d}.mp4"
            args = EDITS.get(edit, ["-vf", "null"])
            run_ffmpeg(
                [
                    "-ss",
                    f"{start}",
                    "-t",
                    f"{length}",
                    "-i",
                    pool[which],
                    *args,
                    "-an",
                    "-pix_fmt",
                    "yuv420p",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    file,
                ]
            )
            out.append(VideoQuery(file, -1 if edit == "negative" else which, edit, start, length))
    return out


def score(queries: list[VideoQuery], answers: list[PeerAnswer]) -> dict[str, dict[str, Any]]:
    """Per edit: queries, correct (top-1), offset_ok (within 1 s), false positives, top1 share."""
    per_edit: dict[str, dict[str, Any]] = {}
    for q, answer in zip(queries, answers, strict=True):
        row = per_edit.setdefault(q.edit, {"queries": 0, "correct": 0, "offset_ok": 0, "false_positive": 0})
        row["queries"] += 1
        if q.reference < 0:
            row["false_positive"] += int(answer.reference is not None)
        elif answer.reference == q.reference:
            row["correct"] += 1
            if answer.reference_time is not None:
                truth = q.start + answer.query_time
                row["offset_ok"] += int(abs(answer.reference_time - truth) <= 1.0)
    for row in per_edit.values():
        row["top1"] = row["correct"] / row["queries"]
    return per_edit


def run_ours(refs: list[Path], queries: list[VideoQuery]) -> dict[str, Any]:
    """Index the clips, match every query; per-edit top-1 accuracy and offset accuracy."""
    index = VideoIndex()
    started = time.perf_counter()
    for i, path in enumerate(refs):
        fp = fingerprint_file(path, audio=False)
        assert fp.frames is not None
        index.add(i, fp.frames)
    ingest_s = time.perf_counter() - started
    matcher = Matcher(None, index)
    answers: list[PeerAnswer] = []
    query_s: list[float] = []
    for q in queries:
        started = time.perf_counter()
        found = merge(matcher.match(fingerprint_file(q.file, audio=False)))
        query_s.append(time.perf_counter() - started)
        top = max(found, key=lambda m: m.duration) if found else None
        answers.append(
            PeerAnswer(None)
            if top is None
            else PeerAnswer(top.reference_id, top.query_start, top.reference_start)
        )
    return {
        "per_edit": score(queries, answers),
        "ingest_s": ingest_s,
        "median_query_s": float(np.median(query_s)) if query_s else None,
    }


def run_vpdq(refs: list[Path], queries: list[VideoQuery]) -> dict[str, Any]:
    """The same clips and queries through vPDQ (hashes at our frame rate, one thread)."""
    step = 1.0 / FRAME_RATE
    started = time.perf_counter()
    ref_hashes = [vpdq_hashes(path, step) for path in refs]
    ingest_s = time.perf_counter() - started
    answers: list[PeerAnswer] = []
    query_s: list[float] = []
    for q in queries:
        started = time.perf_counter()
        answers.append(vpdq_identify(vpdq_hashes(q.file, step), ref_hashes))
        query_s.append(time.perf_counter() - started)
    return {
        "per_edit": score(queries, answers),
        "ingest_s": ingest_s,
        "median_query_s": float(np.median(query_s)) if query_s else None,
    }
