"""Sharding an index by reference-id ranges so that it can grow past one machine.

Shard ``k`` holds the references with ids in ``[k * shard_size, (k + 1) * shard_size)``. Each
shard is an ordinary :class:`~fingerprint.index.AudioIndex` or
:class:`~fingerprint.video_index.VideoIndex`, saved and loaded on its own
(:meth:`ShardedIndex.save_shard` / :meth:`ShardedIndex.load_shard`), so a matcher process may load
only some shards and the results of several processes can be concatenated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Generic, Protocol, TypeVar

from .errors import InvalidFingerprint, ReferenceOutOfShard
from .index import AudioIndex, Hits
from .video_index import FrameHits, VideoIndex


class Shard(Protocol):
    """What a shard must do (AudioIndex and VideoIndex both do)."""

    @property
    def reference_ids(self) -> frozenset[int]: ...

    def __len__(self) -> int: ...

    def add(self, ref_id: int, fingerprint: Any, /) -> None: ...

    def remove(self, ref_id: int) -> bool: ...

    def save(self, fileobj: IO[bytes]) -> None: ...


S = TypeVar("S", bound=Shard)


class ShardedIndex(Generic[S]):
    """Several shards of one kind behind the add/remove/query interface of a single one.

    ``new_shard`` makes an empty shard, ``load`` reads a saved one, ``concat`` joins the hits of
    several shards' queries into one hits object.
    """

    def __init__(
        self,
        new_shard: Callable[[], S],
        load: Callable[[IO[bytes]], S],
        concat: Callable[[list[Any]], Any],
        shard_size: int = 100_000,
    ) -> None:
        if shard_size < 1:
            raise InvalidFingerprint("shard_size must be at least 1")
        self._new, self._load, self._concat = new_shard, load, concat
        self.shard_size = shard_size
        self._shards: dict[int, S] = {}

    def shard_of(self, ref_id: int) -> int:
        """The shard number that holds ``ref_id``."""
        if ref_id < 0:
            raise InvalidFingerprint(f"reference id must be non-negative, got {ref_id}")
        return ref_id // self.shard_size

    @property
    def shard_numbers(self) -> list[int]:
        return sorted(self._shards)

    def shard(self, number: int) -> S:
        """The shard with this number (an empty one is created on first use)."""
        if number not in self._shards:
            self._shards[number] = self._new()
        return self._shards[number]

    def __iter__(self) -> Iterator[tuple[int, S]]:
        return iter(sorted(self._shards.items()))

    def __len__(self) -> int:
        return sum(len(s) for s in self._shards.values())

    def __contains__(self, ref_id: object) -> bool:
        return isinstance(ref_id, int) and any(ref_id in s.reference_ids for s in self._shards.values())

    @property
    def reference_ids(self) -> frozenset[int]:
        return frozenset().union(*(s.reference_ids for s in self._shards.values()))

    def add(self, ref_id: int, fingerprint: Any) -> None:
        self.shard(self.shard_of(ref_id)).add(ref_id, fingerprint)

    def remove(self, ref_id: int) -> bool:
        number = self.shard_of(ref_id)
        return number in self._shards and self._shards[number].remove(ref_id)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """Query every loaded shard and concatenate the hits."""
        return self._concat([s.query(*args, **kwargs) for _, s in self])  # type: ignore[attr-defined]

    def search(
        self, queries: Sequence[Any], weight: int, sweep: Sequence[Any] = ()
    ) -> tuple[list[Any], list[int]]:
        """Audio shards: :meth:`~fingerprint.index.AudioIndex.search` on every loaded shard;
        the hits of each query concatenated (a reference lies in one shard, so a shard's filter
        sees all of its votes), the largest sweep count of the shards."""
        per_shard = [s.search(queries, weight, sweep) for _, s in self]  # type: ignore[attr-defined]
        hits = [self._concat([found[0][i] for found in per_shard]) for i in range(len(queries))]
        counts = [max((found[1][i] for found in per_shard), default=0) for i in range(len(sweep))]
        return hits, counts

    def plausible(self, queries: Sequence[Any], weight: int) -> list[Any]:
        """Per query, the plausible hits of :meth:`search`."""
        return self.search(queries, weight)[0]

    def strongest(self, queries: Sequence[Any]) -> list[int]:
        """Per query, the sweep count of :meth:`search`."""
        return self.search((), 0, queries)[1]

    def save_shard(self, number: int, fileobj: IO[bytes]) -> None:
        self.shard(number).save(fileobj)

    def load_shard(self, number: int, fileobj: IO[bytes]) -> None:
        """Load (or replace) shard ``number``; its references must lie in the shard's id range."""
        shard = self._load(fileobj)
        outside = [r for r in shard.reference_ids if self.shard_of(r) != number]
        if outside:
            raise ReferenceOutOfShard(
                f"shard {number} holds references {sorted(outside)[:5]} of other shards"
            )
        self._shards[number] = shard


def audio_shards(shard_size: int = 100_000) -> ShardedIndex[AudioIndex]:
    """An empty sharded audio landmark index."""
    return ShardedIndex(AudioIndex, AudioIndex.load, Hits.concat, shard_size)


def video_shards(shard_size: int = 100_000) -> ShardedIndex[VideoIndex]:
    """An empty sharded video frame-hash index."""
    return ShardedIndex(VideoIndex, VideoIndex.load, FrameHits.concat, shard_size)
