"""The audio landmark index: hash -> postings of (reference, anchor time), in CSR form.

:class:`AudioIndex` keeps its postings sorted by hash without storing the hash: ``_starts`` (one
``uint32`` offset per possible hash, 2**HASH_BITS + 1 of them, 32 MiB) says where each hash's
postings begin, and a posting is two ``uint32`` (the reference's slot in the index's own
reference table, and the anchor time in landmark frames): 8 bytes a posting where a sorted table
of (hash, int64 id, int32 time) took 16, and a lookup is two reads instead of a binary search.
Adds are buffered and merged in one linear pass (not a re-sort of the whole table) before the
next query or save. :class:`~fingerprint.shards.ShardedIndex` spreads references over several of
these by id range; one index holds at most 2**32 - 1 postings (about 3,900 hours of audio).

Reference ids are non-negative integers chosen by the caller (the control plane uses its
reference row ids); a reference id is added once and must be removed before it is re-added.
An index is not thread-safe (a query may merge the add buffer): guard it with a lock when several
threads share one.

Saved form (format 2, an uncompressed .npz): the postings' hashes (uint32, sorted), slots,
times and the reference table. Format 1 files (hashes, int64 ids and times) still load.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from .audio import HASH_BITS, Landmarks
from .errors import DuplicateReference, IndexCorrupt, InvalidFingerprint
from .kernels import best_bucket, parallel_map, plausible_hits

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_POSTINGS = 2000
"""Hashes with more postings than this are too common to be evidence and are skipped."""
HASH_SPACE = 1 << HASH_BITS
_LIMIT = (1 << 32) - 1


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
        self._starts: np.ndarray | None = None  # allocated with the first posting
        self._slots = np.zeros(0, np.uint32)
        self._times = np.zeros(0, np.uint32)
        self._ref_table: list[int] = []  # slot -> reference id (-1: a removed reference)
        self._slot_of: dict[int, int] = {}
        self._pending: list[tuple[np.ndarray, int, np.ndarray]] = []

    def __len__(self) -> int:
        """Number of postings (landmarks) stored."""
        return len(self._slots) + sum(len(p[0]) for p in self._pending)

    @property
    def reference_ids(self) -> frozenset[int]:
        return frozenset(self._slot_of)

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._slot_of

    def add(self, ref_id: int, landmarks: Landmarks) -> None:
        """Buffer the landmarks of one reference. Raises DuplicateReference if already present,
        InvalidFingerprint for a bad id, a hash >= 2**HASH_BITS or a negative time."""
        if not isinstance(ref_id, int | np.integer) or ref_id < 0:
            raise InvalidFingerprint(f"reference id must be a non-negative integer, got {ref_id!r}")
        ref_id = int(ref_id)
        if ref_id in self._slot_of:
            raise DuplicateReference(f"reference {ref_id} is already indexed")
        hashes = np.asarray(landmarks.hashes)
        times = np.asarray(landmarks.times)
        if len(hashes) and (int(hashes.min()) < 0 or int(hashes.max()) >= HASH_SPACE):
            raise InvalidFingerprint(f"landmark hashes must lie in 0..2**{HASH_BITS}-1")
        if len(times) and (int(times.min()) < 0 or int(times.max()) > _LIMIT):
            raise InvalidFingerprint("landmark times must be non-negative 32-bit frame numbers")
        if len(self) + len(hashes) > _LIMIT:
            raise InvalidFingerprint("an audio index holds at most 2**32 - 1 postings: use more shards")
        slot = len(self._ref_table)
        self._ref_table.append(ref_id)
        self._slot_of[ref_id] = slot
        self._pending.append((hashes.astype(np.uint32), slot, times.astype(np.uint32)))

    def remove(self, ref_id: int) -> bool:
        """Drop every posting of ``ref_id``; returns whether it was present."""
        if ref_id not in self._slot_of:
            return False
        self._flush()
        slot = self._slot_of.pop(ref_id)
        self._ref_table[slot] = -1
        if self._starts is not None:
            keep = self._slots != slot
            before = np.zeros(len(keep) + 1, np.int64)
            np.cumsum(keep, out=before[1:])
            self._starts = before[self._starts].astype(np.uint32)
            self._slots, self._times = self._slots[keep], self._times[keep]
        return True

    def _flush(self) -> None:
        """Merge the add buffer into the sorted postings in O(N + M log M + 2**HASH_BITS)."""
        if not self._pending:
            return
        hashes = np.concatenate([p[0] for p in self._pending])
        slots = np.concatenate([np.full(len(p[0]), p[1], np.uint32) for p in self._pending])
        times = np.concatenate([p[2] for p in self._pending])
        self._pending = []
        if len(hashes) == 0:
            return
        order = np.argsort(hashes, kind="stable")
        hashes, slots, times = hashes[order], slots[order], times[order]
        if self._starts is None:
            self._starts = np.zeros(HASH_SPACE + 1, np.uint32)
        # New postings go after the old ones of their hash; then every start moves up by the
        # number of new postings of smaller hashes.
        where = self._starts[hashes.astype(np.int64) + 1].astype(np.int64)
        self._slots = np.insert(self._slots, where, slots)
        self._times = np.insert(self._times, where, times)
        added = np.zeros(HASH_SPACE + 1, np.uint32)
        np.cumsum(np.bincount(hashes, minlength=HASH_SPACE), out=added[1:])
        self._starts += added

    def query(self, landmarks: Landmarks) -> Hits:
        """Every posting whose hash equals a query landmark's hash, with the query's time."""
        self._flush()
        if self._starts is None or len(landmarks) == 0:
            return Hits.empty()
        q_hashes = np.asarray(landmarks.hashes, np.int64)
        inside = (q_hashes >= 0) & (q_hashes < HASH_SPACE)
        q_hashes = np.where(inside, q_hashes, 0)
        lo = self._starts[q_hashes].astype(np.int64)
        counts = self._starts[q_hashes + 1].astype(np.int64) - lo
        counts[(counts > MAX_POSTINGS) | ~inside] = 0
        total = int(counts.sum())
        if total == 0:
            return Hits.empty()
        which = np.repeat(np.arange(len(q_hashes)), counts)
        rows = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(total)
        ref_ids = np.asarray(self._ref_table, np.int64)[self._slots[rows]]
        return Hits(ref_ids, self._times[rows].astype(np.int32), np.asarray(landmarks.times, np.int32)[which])

    def search(
        self, queries: Sequence[Landmarks], weight: int, sweep: Sequence[Landmarks] = ()
    ) -> tuple[list[Hits], list[int]]:
        """Per query, the hits that may belong to an offset with ``weight`` votes: those within
        2 frames of an offset (query time - reference time) where one reference has ``weight``
        hits within +-1 frame, and a few more (see :mod:`fingerprint.kernels`); and per
        ``sweep`` query only the most hits that one reference has at one offset (within 4 to 12
        frames, table collisions included), the first half of the work. Queries and sweeps run
        together, one thread per core; the index must not change meanwhile."""
        self._flush()
        if self._starts is None:
            return [Hits.empty() for _ in queries], [0 for _ in sweep]
        starts, slots, times = self._starts, self._slots, self._times
        table = np.asarray(self._ref_table, np.int64)

        def one(task: tuple[Landmarks, bool]) -> Hits | int:
            landmarks, full = task
            q_hashes = np.asarray(landmarks.hashes, np.int64)
            inside = (q_hashes >= 0) & (q_hashes < HASH_SPACE)
            q_hashes, q_times = q_hashes[inside], np.asarray(landmarks.times, np.int64)[inside]
            if not full:
                return best_bucket(starts, slots, times, q_hashes, q_times, MAX_POSTINGS)
            rows = plausible_hits(starts, slots, times, q_hashes, q_times, MAX_POSTINGS, weight)
            return Hits(table[rows[0]], rows[2].astype(np.int32), rows[1].astype(np.int32))

        # The full queries first: they are the longest tasks.
        done = parallel_map(one, [(q, True) for q in queries] + [(q, False) for q in sweep])
        hits = [h for h in done[: len(queries)] if isinstance(h, Hits)]
        counts = [c for c in done[len(queries) :] if isinstance(c, int)]
        return hits, counts

    def plausible(self, queries: Sequence[Landmarks], weight: int) -> list[Hits]:
        """Per query, the plausible hits of :meth:`search`."""
        return self.search(queries, weight)[0]

    def strongest(self, queries: Sequence[Landmarks]) -> list[int]:
        """Per query, the sweep count of :meth:`search`."""
        return self.search((), 0, queries)[1]

    def _hashes(self) -> np.ndarray:
        """The hash of every posting (uint32), rebuilt from the starts."""
        if self._starts is None:
            return np.zeros(0, np.uint32)
        return np.repeat(np.arange(HASH_SPACE, dtype=np.uint32), np.diff(self._starts))

    def save(self, fileobj: IO[bytes]) -> None:
        """Write the index to a binary file object (an uncompressed .npz archive, format 2)."""
        self._flush()
        np.savez(
            fileobj,
            version=np.array([FORMAT_VERSION]),
            hashes=self._hashes(),
            slots=self._slots,
            times=self._times,
            ref_table=np.asarray(self._ref_table, np.int64),
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.save(buf)
        return buf.getvalue()

    @classmethod
    def load(cls, fileobj: IO[bytes]) -> AudioIndex:
        """Read an index written by :meth:`save` (format 1 or 2). Raises IndexCorrupt on any
        inconsistency or another format."""
        try:
            with np.load(fileobj, allow_pickle=False) as data:
                version = data["version"].tolist()
                if version not in ([v] for v in READABLE_VERSIONS):
                    raise IndexCorrupt(
                        f"audio index format {version} is not one of {list(READABLE_VERSIONS)}: "
                        "rebuild the index from the references (socialflow fingerprint index)"
                    )
                names = (
                    ("hashes", "refs", "times", "ref_ids")
                    if version == [1]
                    else ("hashes", "slots", "times", "ref_table")
                )
                arrays = {k: data[k] for k in names}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(f"not a saved audio index: {exc}") from exc
        if version == [1]:
            arrays = _from_format_1(arrays)
        hashes, slots, times, table = arrays["hashes"], arrays["slots"], arrays["times"], arrays["ref_table"]
        if not (
            hashes.dtype == np.uint32
            and slots.dtype == np.uint32
            and times.dtype in (np.uint32, np.int32)
            and table.dtype == np.int64
            and table.ndim == 1
        ):
            raise IndexCorrupt("audio index arrays have unexpected types")
        if not (hashes.shape == slots.shape == times.shape) or np.any(hashes[1:] < hashes[:-1]):
            raise IndexCorrupt("audio index arrays are inconsistent")
        if len(hashes) and (int(hashes[-1]) >= HASH_SPACE or int(slots.max()) >= len(table)):
            raise IndexCorrupt("audio index postings are out of range")
        live = table[table >= 0]
        if len(np.unique(live)) != len(live) or (len(slots) and np.any(table[np.unique(slots)] < 0)):
            raise IndexCorrupt("audio index reference table is inconsistent")
        index = cls()
        index._ref_table = table.tolist()
        index._slot_of = {ref: slot for slot, ref in enumerate(index._ref_table) if ref >= 0}
        if len(hashes):
            index._starts = np.zeros(HASH_SPACE + 1, np.uint32)
            np.cumsum(np.bincount(hashes, minlength=HASH_SPACE), out=index._starts[1:])
            index._slots, index._times = slots, times.view(np.uint32)
        log.debug("loaded audio index: %d postings, %d references", len(hashes), len(index._slot_of))
        return index

    @classmethod
    def from_postings(
        cls, starts: np.ndarray, slots: np.ndarray, times: np.ndarray, ref_table: Sequence[int]
    ) -> AudioIndex:
        """An index over postings already in CSR form (for bulk builds): ``starts`` (uint32,
        2**HASH_BITS + 1, non-decreasing) says where each hash's postings begin in ``slots``
        (uint32, slots in ``ref_table``) and ``times`` (uint32). The arrays are used, not copied.
        Raises InvalidFingerprint when they do not fit together."""
        table = [int(r) for r in ref_table]
        if not (
            starts.dtype == slots.dtype == times.dtype == np.uint32
            and starts.shape == (HASH_SPACE + 1,)
            and slots.shape == times.shape == (int(starts[-1]),)
            and starts[0] == 0
            and bool(np.all(starts[1:] >= starts[:-1]))
        ):
            raise InvalidFingerprint("CSR postings must be uint32 starts per hash, slots and times")
        if len(slots) and int(slots.max()) >= len(table):
            raise InvalidFingerprint("a posting names a slot outside the reference table")
        live = [r for r in table if r >= 0]
        if len(set(live)) != len(live):
            raise InvalidFingerprint("reference ids must be distinct")
        index = cls()
        index._ref_table = table
        index._slot_of = {ref: slot for slot, ref in enumerate(table) if ref >= 0}
        if len(slots):
            index._starts, index._slots, index._times = starts, slots, times
        return index

    @classmethod
    def from_bytes(cls, data: bytes) -> AudioIndex:
        return cls.load(io.BytesIO(data))


def _from_format_1(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Format 1 (hashes, int64 ids, int32 times, id list) in format 2's terms."""
    refs, ref_ids = arrays["refs"], arrays["ref_ids"]
    if refs.dtype != np.int64 or ref_ids.dtype != np.int64 or arrays["times"].dtype != np.int32:
        raise IndexCorrupt("audio index arrays have unexpected types")
    if len(refs) and not set(np.unique(refs).tolist()) <= set(ref_ids.tolist()):
        raise IndexCorrupt("audio index postings name unknown references")
    if len(arrays["times"]) and int(arrays["times"].min()) < 0:
        raise IndexCorrupt("audio index times are negative")
    table = np.unique(ref_ids)
    slots = np.searchsorted(table, refs).astype(np.uint32)
    return {"hashes": arrays["hashes"], "slots": slots, "times": arrays["times"], "ref_table": table}
