"""Scale simulation: an audio index filled with synthetic landmarks for N hours of audio.

Synthetic references are ``REF_SECONDS`` long; each gets ``rate`` landmarks per second (the rate
measured on the real references), with hashes drawn from the real references' hashes (so the
skew of common hashes is kept) and anchor times uniform over the reference. The real references'
own landmarks are added too, so a real query still has its true match among the noise.

Each size runs in a fresh subprocess (``python -m benchmarks._contentid_scale``) so that its
resident memory (RSS, MiB) belongs to that index alone. Latency is the median wall time (ms) of
``Matcher.match`` for a real 10 s query that matches and one that does not, with the default
matcher (``all_speeds``: 1.0 and a sweep of the other speed factors), at speed 1.0 alone, and
with every factor queried in full (``every_speed_in_full``, the matcher before the sweep).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import MIB, BenchError
from fingerprint import AudioIndex, Landmarks, Matcher, MediaFingerprint, fingerprint_file, merge
from fingerprint.audio import FRAME_SECONDS, HASH_BITS
from fingerprint.index import HASH_SPACE

REF_SECONDS = 600.0
"""Length of one synthetic reference (seconds)."""
BYTES_PER_POSTING = 8
"""uint32 reference slot + uint32 time in AudioIndex's CSR layout."""
TABLE_MIB = ((1 << HASH_BITS) + 1) * 4 / MIB
"""The CSR starts table: one uint32 per possible hash."""
REPEATS = 5
BATCH_REFS = 25
"""Synthetic references generated at a time."""


def _rss(field: str = "VmRSS") -> int:
    """Resident memory of this process in bytes (``VmHWM``: its peak so far)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _synthetic(
    n_refs: int, per_ref: int, max_time: int, pool: np.ndarray, seed: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first synthetic reference, hashes, times) in batches of BATCH_REFS references, laid out
    reference after reference with times sorted; the same batches on every call."""
    rng = np.random.default_rng(seed)
    for first in range(0, n_refs, BATCH_REFS):
        count = min(BATCH_REFS, n_refs - first)
        hashes = pool[rng.integers(len(pool), size=count * per_ref)].astype(np.uint32)
        times = np.sort(rng.integers(max_time, size=(count, per_ref)), axis=1).astype(np.uint32)
        yield first, hashes, times.ravel()


def build(hours: float, rate: float, pool: np.ndarray, real: list[Landmarks], seed: int = 1) -> AudioIndex:
    """An index of ``hours`` of synthetic references plus the real ones (ids 0..len(real)-1).

    Built in CSR form directly, in two passes over the (seeded, repeatable) synthetic
    references: count the postings per hash, then place each where ``AudioIndex.add`` would
    have put it (by hash, then reference, then time). The memory is the index's own plus one
    batch, where merging adds in the index would copy the whole index on every merge.
    """
    per_ref = round(rate * REF_SECONDS)
    max_time = int(REF_SECONDS / FRAME_SECONDS)
    n_refs = max(0, round(hours * 3600 / REF_SECONDS))
    counts = np.zeros(HASH_SPACE, np.int64)
    for lm in real:
        counts += np.bincount(lm.hashes, minlength=HASH_SPACE)
    for _, hashes, _ in _synthetic(n_refs, per_ref, max_time, pool, seed):
        counts += np.bincount(hashes, minlength=HASH_SPACE)
    total = int(counts.sum())
    if total >= 1 << 32:
        raise BenchError(f"{hours:g} h is {total} postings, more than one index holds")
    starts = np.zeros(HASH_SPACE + 1, np.uint32)
    np.cumsum(counts, out=starts[1:])
    del counts
    slots, times = np.empty(total, np.uint32), np.empty(total, np.uint32)
    fill = starts[:-1].astype(np.int64)  # next free posting of each hash

    def place(hashes: np.ndarray, ref_slots: np.ndarray, ref_times: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        h = hashes[order].astype(np.int64)
        first = np.concatenate([[0], np.flatnonzero(h[1:] != h[:-1]) + 1])
        lengths = np.diff(np.concatenate([first, [len(h)]]))
        at = fill[h] + np.arange(len(h)) - np.repeat(first, lengths)
        slots[at], times[at] = ref_slots[order], ref_times[order]
        fill[h[first]] += lengths

    for slot, lm in enumerate(real):
        place(lm.hashes, np.full(len(lm), slot, np.uint32), lm.times.astype(np.uint32))
    for first, hashes, t in _synthetic(n_refs, per_ref, max_time, pool, seed):
        ids = np.arange(len(real) + first, len(real) + first + len(hashes) // per_ref, dtype=np.uint32)
        place(hashes, np.repeat(ids, per_ref), t)
    return AudioIndex.from_postings(starts, slots, times, range(len(real) + n_refs))


def _latency_ms(matcher: Matcher, query: MediaFingerprint) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of one match (the CPU time is what a shared machine's
    load does not inflate), and the number of matches."""
    walls, cpus, found = [], [], 0
    for _ in range(REPEATS):
        start, cpu = time.perf_counter(), time.process_time()
        found = len(matcher.match(query))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)) * 1000, float(np.median(cpus)) * 1000, found


def measure(hours: float, rate: float, data: Path) -> dict[str, Any]:
    """Build one index from the files in ``data`` (see :func:`write_inputs`) and time queries."""
    pool = np.load(data / "pool.npy")
    with np.load(data / "real.npz") as npz:
        real = [Landmarks(npz[f"h{i}"], npz[f"t{i}"]) for i in range(len(npz.files) // 2)]
    positive = MediaFingerprint.from_bytes((data / "positive.fp").read_bytes())
    negative = MediaFingerprint.from_bytes((data / "negative.fp").read_bytes())
    before = _rss()
    start = time.perf_counter()
    index = build(hours, rate, pool, real)
    build_s = time.perf_counter() - start
    after = _rss()
    out: dict[str, Any] = {
        "hours": hours,
        "postings": len(index),
        "index_mib": len(index) * BYTES_PER_POSTING / MIB + TABLE_MIB,
        "rss_mib": after / MIB,
        "rss_growth_mib": (after - before) / MIB,
        "rss_peak_mib": _rss("VmHWM") / MIB,
        "build_s": build_s,
    }
    modes: tuple[tuple[str, dict[str, Any]], ...] = (
        ("all_speeds", {}),
        ("speed_1_only", {"speed_factors": (1.0,)}),
        ("every_speed_in_full", {"speed_sweep": False}),
    )
    for mode, kwargs in modes:
        matcher = Matcher(index, None, **kwargs)
        pos_ms, pos_cpu, pos_found = _latency_ms(matcher, positive)
        neg_ms, neg_cpu, neg_found = _latency_ms(matcher, negative)
        out[mode] = {
            "positive_ms": pos_ms,
            "positive_cpu_ms": pos_cpu,
            "positive_matches": pos_found,
            "negative_ms": neg_ms,
            "negative_cpu_ms": neg_cpu,
            "negative_matches": neg_found,
        }
    out["load_average"] = os.getloadavg()[0]
    if (data / "queries.json").exists():
        out["answers"] = answer_queries(Matcher(index, None), json.loads((data / "queries.json").read_text()))
    return out


def answer_queries(matcher: Matcher, queries: dict[str, str]) -> dict[str, list[float] | None]:
    """The benchmark's accuracy queries (name -> file) against this index: per query, None or
    [reference, query time, reference time] of the longest match. A synthetic reference found
    is a wrong answer, as an unrelated track would be."""
    out: dict[str, list[float] | None] = {}
    for name, file in queries.items():
        found = merge(matcher.match(fingerprint_file(file, video=False)))
        top = max(found, key=lambda m: (m.duration, m.score)) if found else None
        out[name] = None if top is None else [top.reference_id, top.query_start, top.reference_start]
    return out


def write_inputs(
    folder: Path, real: list[Landmarks], positive: MediaFingerprint, negative: MediaFingerprint
) -> None:
    """Save what :func:`measure` reads: a hash pool, the real landmarks, two query fingerprints."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "pool.npy", np.concatenate([lm.hashes for lm in real]))
    arrays: dict[str, np.ndarray] = {}
    for i, lm in enumerate(real):
        arrays[f"h{i}"], arrays[f"t{i}"] = lm.hashes, lm.times
    np.savez(folder / "real.npz", **arrays)  # type: ignore[arg-type]
    (folder / "positive.fp").write_bytes(positive.to_bytes())
    (folder / "negative.fp").write_bytes(negative.to_bytes())


def run_point(hours: float, rate: float, data: Path, timeout: float = 3600) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process; BenchError on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._contentid_scale", str(hours), str(rate), str(data)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"scale point {hours} h failed: {done.stderr[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def estimate_mib(hours: float, rate: float) -> float:
    """Index size (MiB) of ``hours`` at ``rate`` landmarks per second."""
    return hours * 3600 * rate * BYTES_PER_POSTING / MIB + TABLE_MIB


def extrapolate(points: list[dict[str, Any]], hours: tuple[float, ...], rate: float) -> dict[str, Any]:
    """Estimates for sizes not measured: memory from the landmark rate, latency from a straight
    line (least squares) through the measured latencies against hours. Marked ``measured: false``.
    """
    measured = {p["hours"] for p in points}
    out: dict[str, Any] = {}
    for h in hours:
        if h in measured:
            continue
        row: dict[str, Any] = {"hours": h, "measured": False, "index_mib": estimate_mib(h, rate)}
        if len(points) >= 2:
            xs = np.array([p["hours"] for p in points])
            for mode in ("all_speeds", "speed_1_only"):
                for key in ("positive_ms", "negative_ms", "positive_cpu_ms", "negative_cpu_ms"):
                    if any(key not in p[mode] for p in points):
                        continue
                    ys = np.array([p[mode][key] for p in points])
                    slope, intercept = np.polyfit(xs, ys, 1)
                    row.setdefault(mode, {})[key] = float(intercept + slope * h)
        out[f"{h:g}h"] = row
    return out


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("hours", type=float)
    parser.add_argument("rate", type=float)
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    print(json.dumps(measure(args.hours, args.rate, args.data)))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(_main())
