"""The platform's reference index: fingerprint shards persisted as files in the blob store.

Each shard (a range of reference ids) is one object, ``contentid/index/{audio|video}-NNNNN.npz``,
so the index grows past one machine's memory and a worker loads only what changed since it last
looked. Writers change one shard under a lock named after it.
"""

from __future__ import annotations

import io
import re
import threading
import time
from typing import Any

from control_plane.core.kv import KeyValue
from fingerprint import AudioIndex, MediaFingerprint, ShardedIndex, VideoIndex, audio_shards, video_shards
from fingerprint.matcher import Matcher
from storage import BlobNotFound, BlobStore

__all__ = ["ReferenceIndex", "SHARD_SIZE", "PREFIX"]

SHARD_SIZE = 10_000  # references per shard
PREFIX = "contentid/index/"
_NAME = re.compile(r"^(audio|video)-(\d{5})\.npz$")
LOCK_TTL = 120.0


class ReferenceIndex:
    """Loads the shards from storage (re-reading only changed ones) and updates them under locks."""

    def __init__(self, store: BlobStore, kv: KeyValue, shard_size: int = SHARD_SIZE) -> None:
        self.store, self.kv, self.shard_size = store, kv, shard_size
        self.audio: ShardedIndex[AudioIndex] = audio_shards(shard_size)
        self.video: ShardedIndex[VideoIndex] = video_shards(shard_size)
        self._versions: dict[str, tuple[object, ...]] = {}
        self._lock = threading.Lock()

    def _key(self, kind: str, number: int) -> str:
        return f"{PREFIX}{kind}-{number:05d}.npz"

    def matcher(self) -> Matcher:
        """A matcher over the current index; shards changed in storage are reloaded first."""
        with self._lock:
            for info in self.store.list(PREFIX):
                found = _NAME.match(info.key.removeprefix(PREFIX))
                version = (info.etag, info.size, info.modified)
                if found is None or self._versions.get(info.key) == version:
                    continue
                kind, number = found.group(1), int(found.group(2))
                self._sharded(kind).load_shard(number, io.BytesIO(self.store.read(info.key)))
                self._versions[info.key] = version
            return Matcher(self.audio if len(self.audio) else None, self.video if len(self.video) else None)

    def _sharded(self, kind: str) -> ShardedIndex[Any]:
        return self.audio if kind == "audio" else self.video

    def add(self, ref_id: int, fp: MediaFingerprint) -> None:
        """Put a reference in the index (replacing an earlier entry of the same id)."""
        landmarks = fp.landmarks()
        if landmarks is not None:
            self._update("audio", ref_id, landmarks)
        if fp.frames is not None:
            self._update("video", ref_id, fp.frames)

    def remove(self, ref_id: int) -> None:
        for kind in ("audio", "video"):
            self._update(kind, ref_id, None)

    def _update(self, kind: str, ref_id: int, fingerprint: Any) -> None:
        fresh = audio_shards(self.shard_size) if kind == "audio" else video_shards(self.shard_size)
        number = fresh.shard_of(ref_id)
        key = self._key(kind, number)
        lock = f"contentid-shard:{key}"
        deadline = time.monotonic() + LOCK_TTL
        while (token := self.kv.acquire_lock(lock, LOCK_TTL)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"index shard {key} stayed locked for {LOCK_TTL:g} s")
            time.sleep(0.05)
        try:
            try:
                fresh.load_shard(number, io.BytesIO(self.store.read(key)))
            except BlobNotFound:
                pass
            removed = fresh.remove(ref_id)
            if fingerprint is None and not removed:
                return
            if fingerprint is not None:
                fresh.add(ref_id, fingerprint)
            buffer = io.BytesIO()
            fresh.save_shard(number, buffer)
            self.store.put(key, buffer.getvalue())
        finally:
            self.kv.release_lock(lock, token)
