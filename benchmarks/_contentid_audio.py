"""Our audio Content-ID in the benchmark: ingest timing, query answers, and scoring of any system.

Ingest is decode (to 8 kHz mono) + spectral peaks + landmarks + index add, timed per reference in
wall and CPU seconds of this process (one thread, so CPU seconds are per core). A query is
``fingerprint_file`` of the query file then ``Matcher.match``; its answer is the longest merged
match. An answer is correct when it names the true reference; its offset is right when the
reference time it reports for its own query time is within :data:`OFFSET_TOLERANCE` of the truth.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks._contentid_data import QuerySpec, Track
from benchmarks._contentid_peers import PeerAnswer
from fingerprint import (
    AudioIndex,
    Landmarks,
    Matcher,
    MediaUnreadable,
    decode_audio,
    find_peaks,
    fingerprint_file,
    merge,
)

log = logging.getLogger("benchmarks.contentid")

OFFSET_TOLERANCE = 1.0
"""Seconds."""


def ingest(
    tracks: Sequence[Track], max_seconds: float | None
) -> tuple[AudioIndex, dict[str, Any], list[Landmarks], list[Track]]:
    """Index the readable ``tracks`` as references 0..n-1, in order.

    Returns the index, timings, their landmarks and the tracks indexed; a track our decoder
    refuses (MediaUnreadable) is logged, listed in the timings as ``unreadable`` and left out.
    """
    index = AudioIndex()
    audio_s = decode_cpu = fp_cpu = wall = 0.0
    kept: list[Landmarks] = []
    indexed: list[Track] = []
    unreadable: list[str] = []
    for track in tracks:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            signal = decode_audio(track.path, max_seconds=max_seconds)
        except MediaUnreadable as exc:
            log.warning("left out %s: %s", track.path, exc.detail)
            unreadable.append(f"{track.path.name}: {exc.detail}")
            continue
        c1 = time.process_time()
        lm = find_peaks(signal).landmarks()
        index.add(len(indexed), lm)
        c2 = time.process_time()
        wall += time.perf_counter() - w0
        decode_cpu += c1 - c0
        fp_cpu += c2 - c1
        audio_s += signal.duration
        kept.append(lm)
        indexed.append(track)
    landmarks = sum(len(lm) for lm in kept)
    stats = {
        "audio_seconds": audio_s,
        "wall_s": wall,
        "decode_cpu_s": decode_cpu,
        "fingerprint_cpu_s": fp_cpu,
        "realtime_per_core": audio_s / max(1e-9, decode_cpu + fp_cpu),
        "realtime_per_core_without_decode": audio_s / max(1e-9, fp_cpu),
        "landmarks_per_second": landmarks / max(1e-9, audio_s),
        "postings": landmarks,
        "unreadable": unreadable,
    }
    return index, stats, kept, indexed


def query_ours(
    index: AudioIndex, specs: Sequence[QuerySpec], variants: dict[str, dict[str, Any]]
) -> dict[str, tuple[dict[str, PeerAnswer], dict[str, Any]]]:
    """Answer every query with one Matcher per variant (name -> Matcher keyword arguments).

    Each query file is fingerprinted once; returns, per variant, the answers by query name and
    the timing (ms: fingerprinting, and matching as median and 95th percentile).
    """
    matchers = {name: Matcher(index, None, **kwargs) for name, kwargs in variants.items()}
    answers: dict[str, dict[str, PeerAnswer]] = {name: {} for name in variants}
    match_ms: dict[str, list[float]] = {name: [] for name in variants}
    fp_ms: list[float] = []
    for spec in specs:
        t0 = time.perf_counter()
        fp = fingerprint_file(spec.file, video=False)
        fp_ms.append((time.perf_counter() - t0) * 1000)
        for name, matcher in matchers.items():
            t1 = time.perf_counter()
            found = merge(matcher.match(fp))
            match_ms[name].append((time.perf_counter() - t1) * 1000)
            top = max(found, key=lambda m: (m.duration, m.score)) if found else None
            answers[name][spec.name] = (
                PeerAnswer(None)
                if top is None
                else PeerAnswer(top.reference_id, top.query_start, top.reference_start)
            )
    out = {}
    for name in variants:
        ms = match_ms[name]
        timing = {
            "queries": len(specs),
            "fingerprint_ms_median": float(np.median(fp_ms)) if fp_ms else None,
            "match_ms_median": float(np.median(ms)) if ms else None,
            "match_ms_p95": float(np.percentile(ms, 95)) if ms else None,
        }
        out[name] = (answers[name], timing)
    return out


def score(specs: Sequence[QuerySpec], answers: dict[str, PeerAnswer]) -> dict[str, Any]:
    """Top-1 and offset accuracy per degradation and length, and false positives on negatives.

    Returns ``{"accuracy": {degradation: {"5s": {...}}}, "negatives": {"5s": {...}}}``; a query
    missing from ``answers`` counts as no answer. Each negative that matched is listed under
    ``matched`` (its source file name and the reference index it was taken for).
    """
    accuracy: dict[str, dict[str, dict[str, Any]]] = {}
    negatives: dict[str, dict[str, Any]] = {}
    for spec in specs:
        answer = answers.get(spec.name, PeerAnswer(None))
        length = f"{spec.length:g}s"
        if spec.reference < 0:
            row = negatives.setdefault(length, {"queries": 0, "false_positives": 0, "matched": []})
            row["queries"] += 1
            if answer.reference is not None:
                row["false_positives"] += 1
                row["matched"].append({"query": spec.source, "reference": answer.reference})
            continue
        row = accuracy.setdefault(spec.degradation, {}).setdefault(
            length, {"queries": 0, "correct": 0, "offset_ok": 0}
        )
        row["queries"] += 1
        if answer.reference == spec.reference:
            row["correct"] += 1
            if answer.reference_time is not None:
                truth = spec.start + (answer.query_time - spec.embed_at) * spec.speed
                row["offset_ok"] += int(abs(answer.reference_time - truth) <= OFFSET_TOLERANCE)
    for by_length in accuracy.values():
        for row in by_length.values():
            row["top1"] = row["correct"] / row["queries"]
            row["offset_accuracy"] = row["offset_ok"] / max(1, row["correct"])
    for row in negatives.values():
        row["false_positive_rate"] = row["false_positives"] / row["queries"]
    return {"accuracy": accuracy, "negatives": negatives}
