"""The ``following`` feed: the reader's timeline merged with their pulled authors, newest first,
and checked against the database on every read.

Sources of one page, each read below the cursor's score:

* the reader's timeline (the store), rebuilt from the database first if it is missing, and the
  database again for what is older than the oldest entry a trimmed timeline kept;
* the items of the pulled authors (too many followers to push) the reader follows;
* with no store at all, the database alone (every followed account's items).

The merged window is then judged: an item whose post or video is gone, whose sharer the reader no
longer follows or hides (blocks, mutes), whose author is hidden, whose video is not public, or
that a newer share shows higher up is left out, and so is a video the reader's audience may not
watch (``watchable``: geofencing, age limits) and a post held for review (but the reader's own);
what can never come back (a deleted item, an unfollowed sharer) is also taken out of the
timeline, so the next read is cheaper.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database
from control_plane.feed.items import Item, ItemIndex, PostFacts, public_videos
from control_plane.feed.metrics import PULL_MERGES, REBUILDS, TIMELINE_ENTRIES
from control_plane.feed.stores import Entry, Slice, TimelineStore
from control_plane.feed.views import Shown
from control_plane.social.models import Post

__all__ = ["FollowingFeed", "Window", "held_from", "public_videos"]

#: Windows read for one page at most (a page cut short by many invalid entries keeps a cursor).
MAX_ROUNDS = 6


@dataclass
class Window:
    """Entries of one round, newest first, and where each came from."""

    entries: list[Entry]
    exhausted: bool
    from_timeline: set[int] = field(default_factory=set)


class FollowingFeed:
    """``store`` keeps the readers' timelines, ``authors`` the pulled authors' (None for both:
    every page from the database)."""

    def __init__(
        self,
        db: Database,
        items: ItemIndex,
        store: TimelineStore | None,
        authors: TimelineStore | None = None,
    ) -> None:
        self.db = db
        self.items = items
        self.store = store
        self.authors = authors

    # -- the timeline -----------------------------------------------------------------------

    def rebuild(self, session: Session, user_id: str) -> None:
        """Build the user's timeline from the database: the newest ``length`` pushed shares of
        the accounts they follow, then whatever was shared while it was being built (a fan-out
        skips a timeline that does not exist yet)."""
        assert self.store is not None
        REBUILDS.inc()
        entries = self.items.shares(session, user_id, limit=self.store.length)
        self.store.fill(user_id, entries, older=len(entries) >= self.store.length)
        newest = max((seq for _, seq in entries), default=0)
        session.commit()  # a new snapshot: what was shared while the timeline was being filled
        self.store.merge(user_id, self.items.shares(session, user_id, after=newest, limit=self.store.length))

    def fill_author(self, session: Session, author_id: str) -> None:
        """Build a pulled author's timeline from the database (their items not pushed)."""
        assert self.authors is not None
        entries = self.items.author_shares(session, author_id, limit=self.authors.length)
        self.authors.fill(author_id, entries, older=len(entries) >= self.authors.length)

    def window(self, session: Session, user_id: str, before: int | None, want: int) -> Window:
        """The newest ``want`` entries below ``before`` of the reader's sources, merged: the
        timeline and the pulled authors' timelines in one round trip, the database past them."""
        if self.store is None:
            entries = self.items.followed_shares(session, user_id, before=before, limit=want)
            return Window(entries, exhausted=len(entries) < want)
        pulled = self.items.pulled_followees(session, user_id) if self.authors is not None else []
        merged = self.store.read_merged(user_id, self.authors or self.store, pulled, before, want)
        if merged is not None:  # the usual case: every timeline there, none cut short
            if before is None:
                TIMELINE_ENTRIES.observe(merged.size)
            if pulled:
                PULL_MERGES.inc()
            exhausted = merged.done and len(merged.entries) <= want
            return Window(merged.entries, exhausted=exhausted, from_timeline=merged.from_timeline)
        part, parts = self.store.read_with(user_id, self.authors or self.store, pulled, before, want)
        if part is None:
            self.rebuild(session, user_id)
            part = self.store.read(user_id, before, want)
            assert part is not None, "a timeline just built is there"
        if before is None:
            TIMELINE_ENTRIES.observe(part.size)
        timeline = self._with_older(
            part, before, want, functools.partial(self.items.shares, session, user_id)
        )
        done = len(timeline) < want
        from_timeline = {s for s, _ in part.entries}
        pulled_entries: list[Entry] = []
        for author_id, found in zip(pulled, parts, strict=True):
            assert self.authors is not None
            if found is None:
                self.fill_author(session, author_id)
                found = self.authors.read(author_id, before, want)
                assert found is not None, "an author timeline just built is there"
            mine = self._with_older(
                found, before, want, functools.partial(self.items.author_shares, session, author_id)
            )
            done = done and len(mine) < want
            pulled_entries += mine
        if pulled_entries:
            PULL_MERGES.inc()
        newest = sorted(timeline + pulled_entries, key=lambda e: e[1], reverse=True)
        exhausted = done and len(newest) <= want
        return Window(newest[:want], exhausted=exhausted, from_timeline=from_timeline)

    @staticmethod
    def _with_older(
        part: Slice, before: int | None, want: int, older: Callable[..., list[Entry]]
    ) -> list[Entry]:
        """A timeline's entries, and past its end those of the database when it left older ones out."""
        entries = list(part.entries)
        if len(entries) < want and part.older:
            floor = entries[-1][1] if entries else before
            entries += older(before=floor, limit=want - len(entries))
        return entries

    # -- a page -----------------------------------------------------------------------------

    def page(
        self,
        session: Session,
        user_id: str,
        before: int | None,
        limit: int,
        *,
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> tuple[list[Shown], int | None]:
        """Up to ``limit`` items with a score below ``before`` and the next page's ``before``
        (None on the last page), read in ``session``; videos only those ``watchable`` (an SQL
        condition over ``videos``) lets through."""
        shown: list[Shown] = []
        bound, rounds = before, 0
        while len(shown) <= limit and rounds < MAX_ROUNDS:
            rounds += 1
            missing = limit + 1 - len(shown)
            want = max(10, missing + missing // 4 + 5)  # a few spare for entries left out
            window = self.window(session, user_id, bound, want)
            if not window.entries:
                break
            shown += self._judge(session, user_id, window, watchable=watchable)
            bound = window.entries[-1][1]
            if window.exhausted:
                break
        else:
            if len(shown) <= limit:  # gave up early: let the reader ask for more
                return shown, bound
        if len(shown) > limit:
            return shown[:limit], int(shown[limit - 1].share.seq)
        return shown, None

    def _judge(
        self,
        session: Session,
        user_id: str,
        window: Window,
        *,
        tidy: bool = True,
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> list[Shown]:
        # only a post reposted has shares besides its own: the statement asks where those stand
        loaded = self.items.rows(
            session,
            [s for s, _ in window.entries] + [k for _, k in window.entries],
            user_id,
            shared=[s for s, k in window.entries if s != k],
            watchable=watchable,
        )
        rows = {seq: found.item for seq, found in loaded.items()}
        follows = {found.item.author_id for found in loaded.values() if found.author_followed}
        follows |= {found.item.reply_to_author_id for found in loaded.values() if found.reply_followed}  # type: ignore[misc]
        hidden = {found.item.author_id for found in loaded.values() if found.author_hidden}
        best = {seq: found.latest for seq, found in loaded.items() if found.latest is not None}

        def reaches(item: Item) -> bool:
            """The item reaches the reader as a share of someone they follow and see."""
            return (
                item.author_id in follows
                and item.author_id not in hidden
                and (item.reply_to_author_id is None or item.reply_to_author_id in follows)
            )

        gone: list[int] = []
        moved: list[Entry] = []
        seen: set[int] = set()
        out: list[Shown] = []
        bound = window.entries[-1][1] if window.entries and not window.exhausted else 0
        # newest first; an entry moved back to its original's place is judged in this window
        # when it still falls within it (below it, the next window reads it from the timeline)
        queue = [
            (-score, subject_seq, subject_seq in window.from_timeline)
            for subject_seq, score in window.entries
        ]
        heapq.heapify(queue)
        while queue:
            negative, subject_seq, in_timeline = heapq.heappop(queue)
            score = -negative
            subject, share = rows.get(subject_seq), rows.get(score)
            if subject is None:
                if in_timeline:
                    gone.append(subject_seq)
                continue
            if subject_seq in seen or best.get(subject_seq, score) > score:
                continue
            if share is None or share.subject_seq != subject_seq or not reaches(share):
                if in_timeline:  # the share that placed it no longer counts
                    gone.append(subject_seq)
                    if subject.seq != score and reaches(subject):
                        moved.append((subject_seq, subject.seq))  # back where the original stands
                        if subject.seq >= bound:
                            heapq.heappush(queue, (-subject.seq, subject_seq, False))
                continue
            found = loaded[subject_seq]
            if (
                subject.author_id in hidden
                or (subject.video_id is not None and (found.video is None or not found.video.shown))
                or held_from(found.post, user_id)
            ):
                continue  # may come back (unmuted, made public, released): the timeline keeps it
            seen.add(subject_seq)
            out.append(
                Shown(
                    subject=subject,
                    share=share,
                    post=found.post,
                    author_followed=found.author_followed,
                    loaded=found,
                )
            )
        if tidy and self.store is not None and (gone or moved):
            self.store.remove(user_id, gone)
            if moved:
                self.store.merge(user_id, moved)
        return out


def held_from(post: Post | PostFacts | None, user_id: str) -> bool:
    """Whether ``post`` is held for review and ``user_id`` is not its author."""
    return post is not None and post.held and post.author_id != user_id
