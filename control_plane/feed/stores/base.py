"""The timeline store: each reader's home timeline, a capped set of compact entries, newest first.

The same store keeps the timelines of the pulled authors (their own items, shared by all their
followers: one write per item instead of one per follower), under another prefix.

An entry is ``(subject, score)``: ``subject`` is the ``seq`` of the item shown (a post, the
original of a repost, a video) and ``score`` the ``seq`` of its newest share the reader gets (the
post itself, or the latest repost of it), so a post reposted by many appears once, where its
latest repost put it. Scores only grow: adding an older share of a subject keeps the newer.

A timeline is a cache of what the database says. It either exists, holding everything the
reader's pushed followees shared since it was built (down to ``length`` entries), or is missing,
and then the reader's next read rebuilds it from the database; pushes never create one, so a
timeline that exists is never a partial one. A missing timeline is also how an inactive reader
looks: timelines expire ``ttl`` seconds after their last read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Entry", "Merged", "Slice", "TimelineStore"]

#: ``(subject seq, score)``: the score is the seq of the share that put the subject there.
Entry = tuple[int, int]


@dataclass(frozen=True)
class Slice:
    """Entries of one timeline below a score, newest first; ``size`` is how many it holds in
    all; ``older`` is True when the database holds shares older than its oldest entry (it was
    trimmed, or built from a full page of the database), so a reader scrolling past it reads on
    there."""

    entries: list[Entry]
    size: int
    older: bool = False


@dataclass(frozen=True)
class Merged:
    """The newest entries of several timelines at once (the reader's and their pulled authors'),
    newest first: ``from_timeline`` are the subjects that came from the reader's own timeline,
    ``size`` is how many it holds, ``done`` is True when every timeline had fewer entries
    below the top than were asked for (none left out)."""

    entries: list[Entry]
    from_timeline: set[int]
    size: int
    done: bool


class TimelineStore(ABC):
    """Timelines of at most ``length`` entries that expire ``ttl`` seconds after their last read."""

    def __init__(self, *, length: int, ttl: float) -> None:
        self.length = length
        self.ttl = ttl

    @abstractmethod
    def read(self, user_id: str, before: int | None, count: int) -> Slice | None:
        """Up to ``count`` entries with a score below ``before`` (None: from the newest), and
        renew the timeline's ``ttl``; None when the user has no timeline (rebuild it)."""

    def read_with(
        self, user_id: str, others: TimelineStore, other_ids: Sequence[str], before: int | None, count: int
    ) -> tuple[Slice | None, list[Slice | None]]:
        """``read`` of the user's timeline and of ``other_ids``' timelines in ``others`` (the
        pulled authors'), at once where the store can (one Redis round trip)."""
        return self.read(user_id, before, count), [others.read(o, before, count) for o in other_ids]

    def read_merged(
        self, user_id: str, others: TimelineStore, other_ids: Sequence[str], before: int | None, count: int
    ) -> Merged | None:
        """The newest ``count`` entries below ``before`` of the user's timeline and of
        ``other_ids``' in ``others``, merged (in one round trip where the store can); None when
        one of them is missing, or ends before ``count`` entries while the database holds older
        ones (the caller then reads them one by one, ``read_with``)."""
        mine, theirs = self.read_with(user_id, others, other_ids, before, count)
        parts = [mine, *theirs]
        if any(p is None or (p.older and len(p.entries) < count) for p in parts):
            return None
        assert mine is not None
        merged = sorted(
            (e for p in parts if p is not None for e in p.entries), key=lambda e: e[1], reverse=True
        )
        own = set(mine.entries)
        return Merged(
            entries=merged[:count],
            from_timeline={s for s, k in merged[:count] if (s, k) in own},
            size=mine.size,
            done=all(p is not None and len(p.entries) < count for p in parts),
        )

    @abstractmethod
    def fill(self, user_id: str, entries: Iterable[Entry], *, older: bool = False) -> None:
        """Make the user's timeline hold ``entries`` (replacing any), trimmed to ``length``;
        ``older``: the database holds older shares than these."""

    @abstractmethod
    def merge(self, user_id: str, entries: Iterable[Entry]) -> bool:
        """Add ``entries`` to the user's timeline if it exists; False (nothing written) if not."""

    @abstractmethod
    def push(self, user_ids: Sequence[str], entry: Entry) -> int:
        """Add ``entry`` to the timelines of ``user_ids`` that exist; how many it was written to."""

    @abstractmethod
    def scores(self, user_id: str, subjects: Sequence[int]) -> dict[int, int]:
        """The scores of those of ``subjects`` the user's timeline holds."""

    @abstractmethod
    def remove(self, user_id: str, subjects: Iterable[int]) -> None:
        """Take ``subjects`` out of the user's timeline."""

    @abstractmethod
    def drop(self, user_id: str) -> None:
        """Forget the user's timeline: their next read rebuilds it."""

    @abstractmethod
    def size(self, user_id: str) -> int:
        """Entries in the user's timeline (0 when it is missing)."""

    def bytes_used(self, user_id: str) -> int | None:
        """Bytes the timeline takes in the store, where the store can tell (Redis ``MEMORY USAGE``)."""
        return None
