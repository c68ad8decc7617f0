"""Compiled kernels (numba) for the audio query's hot path: index hits to plausible votes.

A 10 s query draws millions of index hits per speed factor at a few hundred hours of references,
and nearly all of them are chance hits. :func:`plausible_hits` walks the CSR postings of the
query's hashes twice without materialising the hits: the first walk counts hits per bucket of
(reference slot, offset // 4) in a hashed table of saturating uint8 counters, the second emits
only the hits whose bucket and its two neighbouring offset buckets hold ``weight`` hits together.
That is the rule of :func:`plausible_mask` (the numpy reference, kept for tests and for hits that
do not come from a CSR index): every hit within 2 frames of an offset with ``weight`` votes within
+-1 frame is kept; table collisions only keep more.

The kernels release the GIL, so several speed passes run on several cores from a thread pool
(:func:`parallel_map`). They are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numba
import numpy as np

MULTIPLIER = 0x9E3779B1
"""Odd multiplier that scatters reference slots over the table (Fibonacci hashing)."""
MIN_TABLE_BITS, MAX_TABLE_BITS = 10, 24
"""The count table has 2**k entries, k the bit length of the hit count (one to two entries a
hit), clipped to this range. A table 4 times larger made fewer collisions but cost twice the
CPU at 100 hours (it no longer fits the L2 cache)."""

_MULTIPLIER = np.uint64(MULTIPLIER)
T = TypeVar("T")
R = TypeVar("R")
_pool: ThreadPoolExecutor | None = None


def table_bits(hits: int) -> int:
    """Bits of the count table for ``hits`` hits (see MIN_TABLE_BITS)."""
    return min(MAX_TABLE_BITS, max(MIN_TABLE_BITS, int(hits).bit_length()))


def plausible_mask(
    slots: np.ndarray, offsets: np.ndarray, weight: int, bits: int | None = None
) -> np.ndarray:
    """Mask of the hits (reference slot, offset in frames) that may belong to an offset with
    ``weight`` votes: numpy, the rule of :func:`plausible_hits` (same table unless ``bits``)."""
    n = len(slots)
    if n == 0:
        return np.zeros(0, bool)
    mask = (1 << (table_bits(n) if bits is None else bits)) - 1
    key = slots.astype(np.int64) * MULTIPLIER + (offsets.astype(np.int64) >> 2)
    key &= mask
    counts = np.minimum(np.bincount(key, minlength=mask + 1), 255)
    # Neighbouring offset buckets of one reference are neighbouring entries (mod the table size).
    return counts[key] + counts[(key + 1) & mask] + counts[(key - 1) & mask] >= weight


@numba.njit(cache=True, nogil=True)
def _hit_count(starts, q_hashes, max_postings):
    total = 0
    for i in range(len(q_hashes)):
        h = q_hashes[i]
        n = np.int64(starts[h + 1]) - np.int64(starts[h])
        if n <= max_postings:
            total += n
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _bucket(slot, shifted_qt, rt, mask):
    """Table entry of the bucket (``slot``, offset // 4); ``shifted_qt`` is the query time plus
    2**32, so that the offset stays unsigned (times are below 2**32)."""
    return (np.uint64(slot) * _MULTIPLIER + ((shifted_qt - np.uint64(rt)) >> np.uint64(2))) & mask


@numba.njit(cache=True, nogil=True, inline="always")
def _neighbours(table, key, mask):
    """Counts of the two neighbouring offset buckets (neighbouring entries, mod the table size)."""
    return np.int64(table[(key + np.uint64(1)) & mask]) + table[(key - np.uint64(1)) & mask]


@numba.njit(cache=True, nogil=True)
def _count(starts, slots, times, q_hashes, q_times, max_postings, table):
    """Count the hits per hashed (slot, offset // 4) bucket into ``table`` (saturating uint8);
    returns the most hits in any bucket and its two neighbours."""
    mask = np.uint64(len(table) - 1)
    limit = np.uint64(max_postings)
    best = 0
    for i in range(len(q_hashes)):
        h = q_hashes[i]
        lo, hi = np.uint64(starts[h]), np.uint64(starts[h + 1])
        if hi - lo > limit:
            continue
        qt = np.uint64(q_times[i]) + np.uint64(1 << 32)
        for j in range(lo, hi):
            key = _bucket(slots[j], qt, times[j], mask)
            count = table[key]
            if count < 255:
                table[key] = count + 1
                best = max(best, np.int64(count) + 1 + _neighbours(table, key, mask))
    return best


@numba.njit(cache=True, nogil=True)
def _emit(starts, slots, times, q_hashes, q_times, max_postings, weight, table, out):
    """Fill ``out`` (3, capacity) with (slot, query time, reference time) of the hits whose
    bucket and its neighbours hold ``weight`` counts in ``table``; returns how many there are
    (more than the capacity: call again with a larger ``out``)."""
    mask = np.uint64(len(table) - 1)
    limit = np.uint64(max_postings)
    found = 0
    capacity = out.shape[1]
    for i in range(len(q_hashes)):
        h = q_hashes[i]
        lo, hi = np.uint64(starts[h]), np.uint64(starts[h + 1])
        if hi - lo > limit:
            continue
        qt = np.uint64(q_times[i]) + np.uint64(1 << 32)
        for j in range(lo, hi):
            key = _bucket(slots[j], qt, times[j], mask)
            if np.int64(table[key]) + _neighbours(table, key, mask) >= weight:
                if found < capacity:
                    out[0, found] = slots[j]
                    out[1, found] = q_times[i]
                    out[2, found] = times[j]
                found += 1
    return found


def _prepared(
    starts: np.ndarray, q_hashes: np.ndarray, q_times: np.ndarray, max_postings: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Query hashes and times sorted by hash (neighbouring lookups share cache lines), and an
    empty count table sized for their hits."""
    order = np.argsort(q_hashes, kind="stable")
    q_hashes = np.ascontiguousarray(q_hashes[order], np.int64)
    q_times = np.ascontiguousarray(q_times[order], np.int64)
    total = int(_hit_count(starts, q_hashes, max_postings)) if len(q_hashes) else 0
    return q_hashes, q_times, np.zeros(1 << table_bits(total) if total else 1, np.uint8)


def plausible_hits(
    starts: np.ndarray,
    slots: np.ndarray,
    times: np.ndarray,
    q_hashes: np.ndarray,
    q_times: np.ndarray,
    max_postings: int,
    weight: int,
) -> np.ndarray:
    """(slot, query time, reference time) rows, shape (3, n) int64, of the hits of a CSR index
    (``starts`` by hash, ``slots`` and ``times`` by posting) that pass the plausible rule for
    ``weight`` votes; hashes with more than ``max_postings`` postings are skipped.

    ``q_hashes`` must lie in ``0 .. len(starts) - 2`` and ``q_times`` in ``0 .. 2**32 - 1``.
    """
    q_hashes, q_times, table = _prepared(starts, np.asarray(q_hashes), np.asarray(q_times), max_postings)
    if len(table) == 1 or _count(starts, slots, times, q_hashes, q_times, max_postings, table) < weight:
        return np.zeros((3, 0), np.int64)
    out = np.empty((3, 1 << 16), np.int64)
    found = _emit(starts, slots, times, q_hashes, q_times, max_postings, weight, table, out)
    if found > out.shape[1]:
        out = np.empty((3, found), np.int64)
        found = _emit(starts, slots, times, q_hashes, q_times, max_postings, weight, table, out)
    return out[:, :found]


def best_bucket(
    starts: np.ndarray,
    slots: np.ndarray,
    times: np.ndarray,
    q_hashes: np.ndarray,
    q_times: np.ndarray,
    max_postings: int,
) -> int:
    """The most hits that any reference has within three neighbouring offset buckets (12
    frames), table collisions included: the first walk of :func:`plausible_hits` alone."""
    q_hashes, q_times, table = _prepared(starts, np.asarray(q_hashes), np.asarray(q_times), max_postings)
    if len(table) == 1:
        return 0
    return int(_count(starts, slots, times, q_hashes, q_times, max_postings, table))


def parallel_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on a shared pool of one thread per core (the kernels release
    the GIL); in the calling thread when there is one item or one core."""
    global _pool
    workers = os.cpu_count() or 1
    if len(items) < 2 or workers < 2:
        return [fn(x) for x in items]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fingerprint-kernel")
    return list(_pool.map(fn, items))
