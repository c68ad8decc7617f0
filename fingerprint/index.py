"""The audio landmark index: hash -> postings of (reference id, anchor time).

:class:`AudioIndex` keeps three parallel numpy arrays sorted by hash (``uint32`` hashes,
``int64`` reference ids, ``int32`` anchor times in landmark frames) plus an add buffer that is
merged in one linear pass (not a re-sort of the whole table) before the next query or save.
:class:`~fingerprint.shards.ShardedIndex` spreads references over several of these by id range.

Reference ids are non-negative integers chosen by the caller (the control plane uses its
reference row ids); a reference id is added once and must be removed before it is re-added.
An index is not thread-safe (a query may merge the add buffer): guard it with a lock when several
threads share one.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from typing import IO

import numpy as np

from .audio import Landmarks
from .errors import DuplicateReference, IndexCorrupt, InvalidFingerprint

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_POSTINGS = 2000
"""Hashes with more postings than this are too common to be evidence and are skipped."""


@dataclass(frozen=True)
class Hits:
    """Query hits: parallel arrays of reference id, reference time and query time (frames)."""

    ref_ids: np.ndarray
    ref_times: np.ndarray
    query_times: np.ndarray

    def __len__(self) -> int:
        return len(self.ref_ids)

    @staticmethod
    def empty() -> Hits:
        return Hits(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))

    @staticmethod
    def concat(parts: list[Hits]) -> Hits:
        if not parts:
            return Hits.empty()
        return Hits(
            np.concatenate([p.ref_ids for p in parts]),
            np.concatenate([p.ref_times for p in parts]),
            np.concatenate([p.query_times for p in parts]),
        )


class AudioIndex:
    """An in-memory landmark index; see the module docstring for the layout."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, np.uint32)
        self._refs = np.zeros(0, np.int64)
        self._times = np.zeros(0, np.int32)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._ref_set: set[int] = set()

    def __len__(self) -> int:
        """Number of postings (landmarks) stored."""
        return len(self._hashes) + sum(len(p[0]) for p in self._pending)

    @property
    def reference_ids(self) -> frozenset[int]:
        return frozenset(self._ref_set)

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._ref_set

    def add(self, ref_id: int, landmarks: Landmarks) -> None:
        """Buffer the landmarks of one reference. Raises DuplicateReference if already present."""
        if not isinstance(ref_id, int | np.integer) or ref_id < 0:
            raise InvalidFingerprint(f"reference id must be a non-negative integer, got {ref_id!r}")
        ref_id = int(ref_id)
        if ref_id in self._ref_set:
            raise DuplicateReference(f"reference {ref_id} is already indexed")
        hashes = np.asarray(landmarks.hashes, np.uint32)
        times = np.asarray(landmarks.times, np.int32)
        self._pending.append((hashes, np.full(len(hashes), ref_id, np.int64), times))
        self._ref_set.add(ref_id)

    def remove(self, ref_id: int) -> bool:
        """Drop every posting of ``ref_id``; returns whether it was present."""
        if ref_id not in self._ref_set:
            return False
        self._flush()
        keep = self._refs != ref_id
        self._hashes, self._refs, self._times = self._hashes[keep], self._refs[keep], self._times[keep]
        self._ref_set.discard(ref_id)
        return True

    def _flush(self) -> None:
        """Merge the add buffer into the sorted arrays in O(N + M log M)."""
        if not self._pending:
            return
        hashes = np.concatenate([p[0] for p in self._pending])
        refs = np.concatenate([p[1] for p in self._pending])
        times = np.concatenate([p[2] for p in self._pending])
        self._pending = []
        order = np.argsort(hashes, kind="stable")
        hashes, refs, times = hashes[order], refs[order], times[order]
        where = np.searchsorted(self._hashes, hashes, side="right")
        self._hashes = np.insert(self._hashes, where, hashes)
        self._refs = np.insert(self._refs, where, refs)
        self._times = np.insert(self._times, where, times)

    def query(self, landmarks: Landmarks) -> Hits:
        """Every posting whose hash equals a query landmark's hash, with the query's time."""
        self._flush()
        q_hashes = np.asarray(landmarks.hashes, np.uint32)
        # Sorted needles make the binary searches walk memory in order (several times faster).
        order = np.argsort(q_hashes, kind="stable")
        lo = np.empty(len(q_hashes), np.int64)
        hi = np.empty(len(q_hashes), np.int64)
        lo[order] = np.searchsorted(self._hashes, q_hashes[order], side="left")
        hi[order] = np.searchsorted(self._hashes, q_hashes[order], side="right")
        counts = hi - lo
        counts[counts > MAX_POSTINGS] = 0
        total = int(counts.sum())
        if total == 0:
            return Hits.empty()
        which = np.repeat(np.arange(len(q_hashes)), counts)
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        rows = starts + np.arange(total)
        return Hits(self._refs[rows], self._times[rows], np.asarray(landmarks.times, np.int32)[which])

    def save(self, fileobj: IO[bytes]) -> None:
        """Write the index to a binary file object (an uncompressed .npz archive)."""
        self._flush()
        np.savez(
            fileobj,
            version=np.array([FORMAT_VERSION]),
            hashes=self._hashes,
            refs=self._refs,
            times=self._times,
            ref_ids=np.array(sorted(self._ref_set), np.int64),
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.save(buf)
        return buf.getvalue()

    @classmethod
    def load(cls, fileobj: IO[bytes]) -> AudioIndex:
        """Read an index written by :meth:`save`. Raises IndexCorrupt on any inconsistency."""
        try:
            with np.load(fileobj, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("version", "hashes", "refs", "times", "ref_ids")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(f"not a saved audio index: {exc}") from exc
        if arrays["version"].tolist() != [FORMAT_VERSION]:
            raise IndexCorrupt(f"audio index format {arrays['version'].tolist()} is not {FORMAT_VERSION}")
        hashes, refs, times = arrays["hashes"], arrays["refs"], arrays["times"]
        if not (hashes.dtype == np.uint32 and refs.dtype == np.int64 and times.dtype == np.int32):
            raise IndexCorrupt("audio index arrays have unexpected types")
        if not (hashes.shape == refs.shape == times.shape) or np.any(hashes[1:] < hashes[:-1]):
            raise IndexCorrupt("audio index arrays are inconsistent")
        index = cls()
        index._hashes, index._refs, index._times = hashes, refs, times
        index._ref_set = set(arrays["ref_ids"].tolist())
        if not set(np.unique(refs).tolist()) <= index._ref_set:
            raise IndexCorrupt("audio index postings name unknown references")
        log.debug("loaded audio index: %d postings, %d references", len(hashes), len(index._ref_set))
        return index

    @classmethod
    def from_bytes(cls, data: bytes) -> AudioIndex:
        return cls.load(io.BytesIO(data))
