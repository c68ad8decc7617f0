"""Offset voting shared by the audio and video matchers.

Hits pair a query time with a reference time; a copy makes many of them agree on one offset.
:func:`best_offsets` finds the strongest offsets per reference, :func:`runs` cuts the agreeing
hits where they pause, and :func:`dedupe` keeps the best-supported match of each stretch.
"""

from __future__ import annotations

import numpy as np

from .matches import Match

MAX_OFFSETS_PER_REFERENCE = 3
"""Distinct alignments of one reference looked at per query (a clip may reuse it several times)."""


def best_offsets(
    refs: np.ndarray, bins: np.ndarray, weight: int, keys_per_ref: int
) -> list[tuple[int, int, int]]:
    """(ref, offset bin, votes within +-1 bin) of the strongest offsets per reference.

    Offsets must lie within +-2**31 bins; reference ids may be any int64.
    """
    if len(refs) == 0:
        return []
    ref_values, ref_rank = np.unique(refs, return_inverse=True)
    key = ref_rank.astype(np.int64) * (1 << 32) + (bins.astype(np.int64) + (1 << 31))
    uniq, counts = np.unique(key, return_counts=True)
    smooth = counts.copy()
    for step in (-1, 1):
        pos = np.searchsorted(uniq, uniq + step)
        found = (pos < len(uniq)) & (uniq[np.minimum(pos, len(uniq) - 1)] == uniq + step)
        smooth[found] += counts[pos[found]]
    strong = np.nonzero(smooth >= weight)[0]
    strong = strong[np.argsort(-smooth[strong], kind="stable")]
    out: list[tuple[int, int, int]] = []
    taken: dict[int, list[int]] = {}
    for i in strong.tolist():
        ref, off = int(ref_values[uniq[i] >> 32]), int(uniq[i] & 0xFFFFFFFF) - (1 << 31)
        chosen = taken.setdefault(ref, [])
        if len(chosen) >= keys_per_ref or any(abs(off - o) <= 2 for o in chosen):
            continue
        chosen.append(off)
        out.append((ref, off, int(smooth[i])))
    return out


def runs(times: np.ndarray, max_gap: float) -> list[np.ndarray]:
    """Split sorted-able times into index groups wherever consecutive times differ by > max_gap."""
    order = np.argsort(times, kind="stable")
    breaks = np.nonzero(np.diff(times[order]) > max_gap)[0] + 1
    return np.split(order, breaks)


def dedupe(matches: list[tuple[float, Match]]) -> list[Match]:
    """Keep, per reference and kind, the best-supported match of each stretch of the query.

    ``matches`` pairs each match with its evidence (matched anchors or frames). A match is
    dropped when a better-supported one of the same reference and kind covers at least half
    of it: the same copy found at another speed or mirrored, or a musical loop that repeats
    inside the reference and so aligns at a second, weaker offset.
    """
    kept: list[Match] = []
    for _, m in sorted(matches, key=lambda pair: -pair[0]):
        if not any(
            k.reference_id == m.reference_id
            and k.kind == m.kind
            and min(k.query_end, m.query_end) - max(k.query_start, m.query_start) >= 0.5 * m.duration
            for k in kept
        ):
            kept.append(m)
    return kept
