"""The video frame-hash index on FAISS (``IndexBinaryIDMap2`` over ``IndexBinaryFlat``).

Each stored frame gets the 64-bit FAISS id ``ref_id << FRAME_BITS | frame_number``, so removing
a reference is one id-range removal and a search result names its reference directly. Frame
times (seconds) and centre hashes (8 bytes a frame, never searched: each hit carries its
reference frame's centre hash so the matcher can verify a run) are kept beside the FAISS index,
per reference. A reference fingerprinted before centre hashes existed is stored without them
and its hits say so (``verifiable`` False).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import IO, ClassVar

import faiss
import numpy as np

from .errors import DuplicateReference, IndexCorrupt, InvalidFingerprint
from .video import HASH_BITS, HASH_BYTES, MATCH_RADIUS, FrameHashes

FORMAT_VERSION = 2
"""Format 2 adds the centre hashes; format 1 files still load, their references unverifiable."""
FRAME_BITS = 24
"""Frames per reference are numbered in this many bits (about 97 days at 2 frames a second)."""
MAX_REF_ID = (1 << (63 - FRAME_BITS)) - 1


@dataclass(frozen=True)
class FrameHits:
    """Pairs of similar frames: reference id, reference time, query time (seconds), distance,
    the reference frame's centre hash (uint8, shape (n, 8)) and whether it has one."""

    ref_ids: np.ndarray
    ref_times: np.ndarray
    query_times: np.ndarray
    distances: np.ndarray
    ref_centres: np.ndarray
    verifiable: np.ndarray

    FIELDS: ClassVar[tuple[str, ...]] = (
        "ref_ids",
        "ref_times",
        "query_times",
        "distances",
        "ref_centres",
        "verifiable",
    )

    def __len__(self) -> int:
        return len(self.ref_ids)

    def select(self, mask: np.ndarray) -> FrameHits:
        """The hits where ``mask`` (bool, or indices) holds."""
        return FrameHits(*(getattr(self, f)[mask] for f in self.FIELDS))

    @staticmethod
    def concat(parts: list[FrameHits]) -> FrameHits:
        if not parts:
            z = np.zeros(0, np.float64)
            return FrameHits(
                np.zeros(0, np.int64),
                z,
                z.copy(),
                np.zeros(0, np.int32),
                np.zeros((0, HASH_BYTES), np.uint8),
                np.zeros(0, bool),
            )
        return FrameHits(*(np.concatenate([getattr(p, f) for p in parts]) for f in FrameHits.FIELDS))


def _new_faiss() -> faiss.IndexBinaryIDMap2:
    return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(HASH_BITS))


class VideoIndex:
    """Frame hashes of many references; see the module docstring."""

    def __init__(self) -> None:
        self._faiss = _new_faiss()
        self._times: dict[int, np.ndarray] = {}
        self._centres: dict[int, np.ndarray | None] = {}

    def __len__(self) -> int:
        """Number of frames stored."""
        return int(self._faiss.ntotal)

    @property
    def reference_ids(self) -> frozenset[int]:
        return frozenset(self._times)

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._times

    def add(self, ref_id: int, frames: FrameHashes) -> None:
        """Store the frame hashes of one reference. Raises DuplicateReference if present."""
        if not isinstance(ref_id, int | np.integer) or not 0 <= ref_id <= MAX_REF_ID:
            raise InvalidFingerprint(f"reference id must be an integer in 0..{MAX_REF_ID}, got {ref_id!r}")
        ref_id = int(ref_id)
        if ref_id in self._times:
            raise DuplicateReference(f"reference {ref_id} is already indexed")
        if len(frames) >= 1 << FRAME_BITS:
            raise InvalidFingerprint(f"reference {ref_id} has too many frames ({len(frames)})")
        ids = (np.int64(ref_id) << FRAME_BITS) + np.arange(len(frames), dtype=np.int64)
        if len(frames):
            self._faiss.add_with_ids(np.ascontiguousarray(frames.hashes, np.uint8), ids)
        self._times[ref_id] = np.asarray(frames.times, np.float64)
        self._centres[ref_id] = None if frames.centre is None else np.asarray(frames.centre, np.uint8)

    def remove(self, ref_id: int) -> bool:
        """Drop every frame of ``ref_id``; returns whether it was present."""
        if ref_id not in self._times:
            return False
        lo = int(ref_id) << FRAME_BITS
        self._faiss.remove_ids(faiss.IDSelectorRange(lo, lo + (1 << FRAME_BITS)))
        del self._times[ref_id]
        del self._centres[ref_id]
        return True

    def query(self, hashes: np.ndarray, times: np.ndarray, radius: int = MATCH_RADIUS) -> FrameHits:
        """All stored frames within ``radius`` bits of each query hash (shape (n, 8))."""
        if len(hashes) == 0 or self._faiss.ntotal == 0:
            return FrameHits.concat([])
        lims, dist, ids = self._faiss.range_search(np.ascontiguousarray(hashes, np.uint8), radius + 1)
        which = np.repeat(np.arange(len(hashes)), np.diff(lims).astype(np.int64))
        refs = ids >> FRAME_BITS
        frame_no = ids & ((1 << FRAME_BITS) - 1)
        ref_times = np.zeros(len(ids), np.float64)
        centres = np.zeros((len(ids), HASH_BYTES), np.uint8)
        verifiable = np.zeros(len(ids), bool)
        for ref in np.unique(refs).tolist():
            mask = refs == ref
            ref_times[mask] = self._times[ref][frame_no[mask]]
            stored = self._centres[ref]
            if stored is not None:
                centres[mask] = stored[frame_no[mask]]
                verifiable[mask] = True
        return FrameHits(
            refs.astype(np.int64),
            ref_times,
            np.asarray(times, np.float64)[which],
            dist.astype(np.int32),
            centres,
            verifiable,
        )

    def save(self, fileobj: IO[bytes]) -> None:
        """Write the index (FAISS bytes from serialize_index_binary, frame times, centre hashes)
        as .npz."""
        refs = np.array(sorted(self._times), np.int64)
        counts = np.array([len(self._times[r]) for r in refs], np.int64)
        times = np.concatenate([self._times[r] for r in refs]) if len(refs) else np.zeros(0)
        centred = np.array([self._centres[r] is not None for r in refs.tolist()], bool)
        centres = [self._centres[r] for r in refs.tolist()]
        np.savez(
            fileobj,
            version=np.array([FORMAT_VERSION]),
            faiss=faiss.serialize_index_binary(self._faiss),
            refs=refs,
            counts=counts,
            times=times.astype(np.float64),
            centred=centred,
            centres=np.concatenate(
                [c for c in centres if c is not None] or [np.zeros((0, HASH_BYTES))]
            ).astype(np.uint8),
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.save(buf)
        return buf.getvalue()

    @classmethod
    def load(cls, fileobj: IO[bytes]) -> VideoIndex:
        """Read an index written by :meth:`save`. Raises IndexCorrupt on any inconsistency."""
        try:
            with np.load(fileobj, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("version", "faiss", "refs", "counts", "times")}
                version = arrays["version"].tolist()
                if version == [FORMAT_VERSION]:
                    arrays["centred"], arrays["centres"] = data["centred"], data["centres"]
                elif version == [1]:
                    arrays["centred"] = np.zeros(len(arrays["refs"]), bool)
                    arrays["centres"] = np.zeros((0, HASH_BYTES), np.uint8)
                else:
                    raise IndexCorrupt(f"video index format {version} is not {FORMAT_VERSION} (or 1)")
            flat = faiss.deserialize_index_binary(arrays["faiss"])
        except (OSError, ValueError, KeyError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(f"not a saved video index: {exc}") from exc
        counts = arrays["counts"]
        centred = arrays["centred"].astype(bool)
        if (
            flat.d != HASH_BITS
            or int(counts.sum()) != len(arrays["times"])
            or len(counts) != len(arrays["refs"])
            or len(centred) != len(counts)
            or arrays["centres"].shape != (int(counts[centred].sum()), HASH_BYTES)
        ):
            raise IndexCorrupt("video index parts are inconsistent")
        if not isinstance(flat, faiss.IndexBinaryIDMap2):
            raise IndexCorrupt(f"video index holds a {type(flat).__name__}, not an IndexBinaryIDMap2")
        index = cls()
        index._faiss = flat
        bounds = np.concatenate([[0], np.cumsum(counts)])
        index._times = {
            int(r): arrays["times"][bounds[i] : bounds[i + 1]] for i, r in enumerate(arrays["refs"])
        }
        starts = np.concatenate([[0], np.cumsum(np.where(centred, counts, 0))])
        index._centres = {
            int(r): arrays["centres"][starts[i] : starts[i + 1]] if centred[i] else None
            for i, r in enumerate(arrays["refs"])
        }
        if int(index._faiss.ntotal) != len(arrays["times"]):
            raise IndexCorrupt("video index frame count does not match its times")
        return index

    @classmethod
    def from_bytes(cls, data: bytes) -> VideoIndex:
        return cls.load(io.BytesIO(data))
