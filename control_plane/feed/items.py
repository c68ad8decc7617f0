"""The feed's items in the database: recording them as posts and videos appear, and reading the
shares a reader gets, newest first.

Every query here answers in ``Entry`` form, ``(subject seq, seq)``, as the timelines hold them.
The reader's sources are the accounts they follow; a reply to someone else reaches only a reader
who follows that account too (Mastodon's rule), a reply to oneself (a thread) every follower.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.feed.models import FeedItem
from control_plane.feed.stores import Entry
from control_plane.social.audience import hidden_from
from control_plane.social.counters import upsert
from control_plane.social.models import Follow, Post, PostMention, PostTag
from control_plane.videos.models import Video

__all__ = [
    "Item",
    "ItemIndex",
    "Loaded",
    "PostFacts",
    "VideoFacts",
    "followees",
    "public_videos",
    "reply_rule",
]

#: Seconds the set of pulled authors is kept before it is read again, and those a reader follows.
PULLED_TTL = 30.0
FOLLOWEES_TTL = 60.0
#: Reposters named on one entry, at most.
MAX_REPOSTERS = 3
#: Readers whose pulled followees one process keeps, at most.
MAX_READERS = 100_000


def followees(user_id: str) -> sa.Select[Any]:
    """The ids of the accounts ``user_id`` follows."""
    return sa.select(Follow.followee_id).where(Follow.follower_id == user_id)


def reply_rule(user_id: str, followed: Any = None) -> sa.ColumnElement[bool]:
    """True for the items ``user_id`` may get from the accounts they follow (``followed``: their
    ids, or by default the query of them): all but replies to accounts they do not follow."""
    if followed is None:  # a primary-key probe for each reply, not the reader's whole list
        follows_it = sa.exists().where(
            Follow.follower_id == user_id, Follow.followee_id == FeedItem.reply_to_author_id
        )
        return sa.or_(FeedItem.reply_to_author_id.is_(None), follows_it)
    return sa.or_(FeedItem.reply_to_author_id.is_(None), FeedItem.reply_to_author_id.in_(followed))


#: Readers following at most this many accounts have their items read author by author (the
#: list of ids in the query: an index range each); beyond, newest first through the whole table
#: until enough are found, which is quicker when the accounts followed are that many.
AUTHORS_LISTED = 300


def _followed(session: Session, user_id: str) -> Any:
    """The accounts ``user_id`` follows, as the best form for the queries below: their ids when
    there are few, else the query of them."""
    ids = list(session.scalars(followees(user_id).limit(AUTHORS_LISTED + 1)))
    return ids if len(ids) <= AUTHORS_LISTED else followees(user_id)


@dataclass(frozen=True, slots=True)
class Item:
    """A ``feed_items`` row as a read sees it (a plain object: no ORM identity to track)."""

    seq: int
    subject_seq: int
    author_id: str
    post_id: str | None
    video_id: str | None
    reply_to_author_id: str | None
    created_at: datetime
    pushed: bool = True


@dataclass(frozen=True, slots=True)
class PostFacts:
    """A post's columns as a page reads them with its item, with what its wire form needs: its
    attached video's brief (``video_*``, None without one) and whether it has tags or mentions."""

    id: str
    author_id: str
    text: str
    video_id: str | None
    reply_to: str | None
    repost_of: str | None
    quote_of: str | None
    likes: int
    reposts: int
    replies: int
    created_at: datetime
    held: bool
    video_title: str | None
    video_owner_id: str | None
    video_status: str | None
    video_visibility: str | None
    tagged: bool
    mentions: bool


@dataclass(frozen=True, slots=True)
class VideoFacts:
    """A video item's card, and whether the reader may see it now (ready, public, watchable)."""

    id: str
    title: str
    duration: float | None
    published_at: datetime | None
    shown: bool


@dataclass(frozen=True, slots=True)
class Loaded:
    """An item read for a page: its row, its post (None for a video) or video, its author's
    name, whether the reader follows its author and, for a reply to someone else, the author
    replied to, whether its author is hidden from the reader, and (asked for subjects that may
    have been shared by others) the seq of its newest share the reader gets."""

    item: Item
    post: PostFacts | None
    author_followed: bool
    reply_followed: bool
    #: The author blocked the reader, was blocked or muted by them.
    author_hidden: bool
    username: str = ""
    video: VideoFacts | None = None
    latest: int | None = None
    #: Up to ``MAX_REPOSTERS`` ``(id, username)`` of the accounts the reader follows and sees
    #: that reposted the post, newest first; None when not read here (the wire form asks).
    reposters: list[tuple[str, str]] | None = None


def _entries(rows: Iterable[Any]) -> list[Entry]:
    return [(int(r[0]), int(r[1])) for r in rows]


class ItemIndex:
    """Owns ``feed_items``. ``push_max_followers``: an author with more followers than this is
    pulled at read time instead of pushed; None pushes every author and pulls nothing, items
    recorded as pulled before included (pushing to everyone: the benchmark's baseline)."""

    def __init__(self, db: Database, *, push_max_followers: int | None) -> None:
        self.db = db
        self.push_max_followers = push_max_followers
        self._pulled: tuple[float, frozenset[str]] = (0.0, frozenset())
        self._followees: dict[str, tuple[float, list[str]]] = {}
        self._pulled_lock = threading.Lock()

    # -- recording --------------------------------------------------------------------------

    def pushes(self, session: Session, author_id: str) -> bool:
        """Whether the author's items are pushed: at most ``push_max_followers`` followers (the
        follows are counted up to one past the threshold, so a star costs no more than anyone)."""
        if self.push_max_followers is None:
            return True
        some = (
            sa.select(sa.literal(1))
            .where(Follow.followee_id == author_id)
            .limit(self.push_max_followers + 1)
            .subquery()
        )
        return (
            int(session.scalar(sa.select(sa.func.count()).select_from(some)) or 0) <= self.push_max_followers
        )

    def _insert(self, session: Session, **row: Any) -> FeedItem | None:
        """Insert the item unless its post or video has one; the new row, or None."""
        key = "post_id" if row.get("post_id") else "video_id"
        original = row.get("subject_seq") is None
        values = {**row, "subject_seq": 0 if original else row["subject_seq"]}
        stmt = upsert(session, FeedItem).values(**values).on_conflict_do_nothing(index_elements=[key])
        seq = session.execute(stmt.returning(FeedItem.seq)).scalar()
        if seq is None:
            return None
        if original:  # an original is its own subject; its seq is known once it is in
            session.execute(sa.update(FeedItem).where(FeedItem.seq == seq).values(subject_seq=seq))
        return session.get(FeedItem, seq)

    def _seq_of_post(self, session: Session, post_id: str) -> int | None:
        """The seq of a post's item, recording the post if it has none (a post made before the
        feed, or whose event was missed); None when the post is gone."""
        found = session.scalar(sa.select(FeedItem.seq).where(FeedItem.post_id == post_id))
        if found is not None:
            return int(found)
        post = session.get(Post, post_id)
        if post is None:
            return None
        item = self._insert(
            session,
            post_id=post.id,
            author_id=post.author_id,
            subject_seq=None,
            pushed=self.pushes(session, post.author_id),
            created_at=post.created_at,
        )
        return item.seq if item is not None else self._seq_of_post(session, post_id)

    def has_followers(self, author_id: str) -> bool:
        with self.db.session() as session:
            found = session.execute(sa.select(sa.literal(1)).where(Follow.followee_id == author_id).limit(1))
            return found.first() is not None

    def add_post(
        self,
        post_id: str,
        author_id: str,
        *,
        repost_of: str | None = None,
        reply_to_author_id: str | None = None,
    ) -> FeedItem | None:
        """Record a post, reply or repost; the new item (None if recorded already, or gone)."""
        with self.db.session() as session:
            pushed = self.pushes(session, author_id)
            post = session.get(Post, post_id)
            if post is None:
                return None
            subject = None
            if repost_of is not None:
                subject = self._seq_of_post(session, repost_of)
                if subject is None:
                    return None
            item = self._insert(
                session,
                post_id=post_id,
                author_id=author_id,
                subject_seq=subject,
                reply_to_author_id=reply_to_author_id if reply_to_author_id != author_id else None,
                pushed=pushed,
                created_at=post.created_at,
            )
            if item is not None:
                session.expunge(item)
            return item

    def add_video(self, video_id: str, owner_id: str, published_at: datetime) -> FeedItem | None:
        """Record a video made public; the new item (None if it was recorded before)."""
        with self.db.session() as session:
            pushed = self.pushes(session, owner_id)
            item = self._insert(
                session,
                video_id=video_id,
                author_id=owner_id,
                subject_seq=None,
                pushed=pushed,
                created_at=published_at,
            )
            if item is not None:
                session.expunge(item)
            return item

    def get(self, seq: int) -> FeedItem | None:
        with self.db.session() as session:
            item = session.get(FeedItem, seq)
            if item is not None:
                session.expunge(item)
            return item

    # -- reading ----------------------------------------------------------------------------

    def shares(
        self,
        session: Session,
        user_id: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int,
    ) -> list[Entry]:
        """The pushed shares of the accounts ``user_id`` follows, newest first: what their
        timeline holds (a rebuild reads it here)."""
        followed = _followed(session, user_id)
        query = (
            sa.select(FeedItem.subject_seq, FeedItem.seq)
            .where(FeedItem.author_id.in_(followed), reply_rule(user_id, followed))
            .order_by(FeedItem.seq.desc())
            .limit(limit)
        )
        if self.push_max_followers is not None:
            query = query.where(FeedItem.pushed)
        if before is not None:
            query = query.where(FeedItem.seq < before)
        if after is not None:
            query = query.where(FeedItem.seq > after)
        return _entries(session.execute(query))

    def followed_shares(
        self, session: Session, user_id: str, *, before: int | None, limit: int
    ) -> list[Entry]:
        """Every share of the accounts ``user_id`` follows, pushed or not, newest first: the
        whole feed from the database, when there are no timelines to read."""
        followed = _followed(session, user_id)
        query = (
            sa.select(FeedItem.subject_seq, FeedItem.seq)
            .where(FeedItem.author_id.in_(followed), reply_rule(user_id, followed))
            .order_by(FeedItem.seq.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(FeedItem.seq < before)
        return _entries(session.execute(query))

    def pulled_authors(self) -> frozenset[str]:
        """The accounts with items that were not pushed (read again every ``PULLED_TTL`` s)."""
        if self.push_max_followers is None:
            return frozenset()
        with self._pulled_lock:
            read_at, authors = self._pulled
            if time.monotonic() - read_at < PULLED_TTL:
                return authors
            with self.db.session() as session:
                authors = frozenset(
                    session.scalars(sa.select(FeedItem.author_id).where(sa.not_(FeedItem.pushed)).distinct())
                )
            self._pulled = (time.monotonic(), authors)
            return authors

    def forget_pulled(self) -> None:
        """Read the pulled authors again at the next call (an item was just recorded unpushed)."""
        with self._pulled_lock:
            self._pulled = (0.0, self._pulled[1])

    def pulled_followees(self, session: Session, user_id: str) -> list[str]:
        """The pulled accounts ``user_id`` follows (kept ``FOLLOWEES_TTL`` s per reader in this
        process, and forgotten when they follow someone: ``forget_followees``)."""
        authors = self.pulled_authors()
        if not authors:
            return []
        now = time.monotonic()
        with self._pulled_lock:
            found = self._followees.get(user_id)
            if found is not None and now - found[0] < FOLLOWEES_TTL:
                return found[1]
        followed = list(
            session.scalars(
                sa.select(Follow.followee_id).where(
                    Follow.follower_id == user_id, Follow.followee_id.in_(sorted(authors))
                )
            )
        )
        with self._pulled_lock:
            if len(self._followees) >= MAX_READERS:
                self._followees.clear()
            self._followees[user_id] = (now, followed)
        return followed

    def forget_followees(self, user_id: str) -> None:
        with self._pulled_lock:
            self._followees.pop(user_id, None)

    def author_shares(
        self, session: Session, author_id: str, *, before: int | None = None, limit: int
    ) -> list[Entry]:
        """The items of ``author_id`` that were not pushed, newest first (their author timeline)."""
        query = (
            sa.select(FeedItem.subject_seq, FeedItem.seq)
            .where(FeedItem.author_id == author_id, sa.not_(FeedItem.pushed))
            .order_by(FeedItem.seq.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(FeedItem.seq < before)
        return _entries(session.execute(query))

    def rows(
        self,
        session: Session,
        seqs: Iterable[int],
        user_id: str,
        *,
        shared: Iterable[int] = (),
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> dict[int, Loaded]:
        """The items ``seqs`` with all a page needs of them, in ONE statement by primary key: the
        item, its post or video (the video ``shown`` when ready, public and ``watchable``), its
        author's name, whether ``user_id`` follows the author (and the author replied to) and
        whether the author is hidden from them; and for the subjects in ``shared``, or whose post
        was reposted, the seq of their newest share by an account the reader follows and sees
        (``latest``: where the subject stands in their feed)."""
        wanted = list(set(seqs))
        if not wanted:
            return {}
        params = {"user_id": user_id, "seqs": wanted, "shared": sorted(set(shared))}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # a lookup by primary key, whose plan is the same for every page: from the pool that
            # keeps plans (planning it each time cost four times what running it does)
            with self.db.keyed.connect() as connection:
                rows = list(connection.execute(_page_rows(dialect), params))
        else:
            rows = list(session.execute(_page_rows(dialect), params))
        # the screens (country, age) only where the page holds a video that is otherwise shown
        screened = [r.video_id for r in rows if r.v_shown and r.video_id] if watchable is not None else []
        allowed = public_videos(session, screened, watchable) if screened else set()
        out: dict[int, Loaded] = {}
        for (  # positions, not names: a page's check reads a few hundred rows at most, cheaply
            seq,
            post_id,
            video_id,
            subject_seq,
            author_id,
            reply_to_author_id,
            pushed,
            created_at,
            text,
            p_video_id,
            reply_to,
            repost_of,
            quote_of,
            likes,
            reposts,
            replies,
            p_created_at,
            held,
            a_title,
            a_owner_id,
            a_status,
            a_visibility,
            tagged,
            mentioned,
            v_title,
            v_duration,
            v_published_at,
            v_shown,
            username,
            author_followed,
            reply_followed,
            author_hidden,
            latest,
            reposters,
        ) in rows:
            item = Item(
                int(seq),
                int(subject_seq),
                author_id,
                post_id,
                video_id,
                reply_to_author_id,
                created_at,
                bool(pushed),
            )
            post = video = None
            if post_id is not None:
                post = PostFacts(
                    post_id,
                    author_id,
                    text,
                    p_video_id,
                    reply_to,
                    repost_of,
                    quote_of,
                    likes,
                    reposts,
                    replies,
                    p_created_at,
                    bool(held),
                    a_title,
                    a_owner_id,
                    a_status,
                    a_visibility,
                    bool(tagged),
                    bool(mentioned),
                )
            elif v_title is not None:
                shown = bool(v_shown) and (watchable is None or video_id in allowed)
                video = VideoFacts(video_id, v_title, v_duration, v_published_at, shown)
            out[item.seq] = Loaded(
                item,
                post,
                bool(author_followed),
                bool(reply_followed),
                bool(author_hidden),
                username or "",
                video,
                None if latest is None else int(latest),
                _reposters(reposters, post, dialect),
            )
        return out

    def recent_of(self, session: Session, author_id: str, limit: int) -> list[Entry]:
        """The newest items of one account (a new follower gets them)."""
        query = (
            sa.select(FeedItem.subject_seq, FeedItem.seq)
            .where(FeedItem.author_id == author_id, FeedItem.reply_to_author_id.is_(None))
            .order_by(FeedItem.seq.desc())
            .limit(limit)
        )
        return _entries(session.execute(query))


def _reposters(found: Any, post: PostFacts | None, dialect: str) -> list[tuple[str, str]] | None:
    """The reposters the statement read (PostgreSQL), as pairs; None where it did not."""
    if dialect != "postgresql" or post is None:
        return None
    return [(str(i), str(name)) for i, name in (found or [])]


def _among(column: Any, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the list bound as ``name``: one array parameter on PostgreSQL (the
    same SQL text for any length, no parameter per value), an expanding ``IN`` elsewhere."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.BigInteger)))
    return column.in_(sa.bindparam(name, expanding=True))


@functools.cache
def _page_rows(dialect: str) -> sa.Select[Any]:
    """The statement of ``ItemIndex.rows`` (built once per dialect: its parameters are
    ``user_id``, ``seqs`` and ``shared``); ``v_shown`` is a video item that is ready and public
    (screens apart)."""
    user_id = sa.bindparam("user_id", type_=sa.String)
    fi = FeedItem.__table__
    posts = Post.__table__
    attached = sa.orm.aliased(Video, name="attached")
    share = sa.orm.aliased(FeedItem, name="share")

    def followed(column: Any) -> sa.Exists:
        return sa.exists().where(Follow.follower_id == user_id, Follow.followee_id == column)

    latest = (
        sa.select(sa.func.max(share.seq))
        .where(
            share.subject_seq == fi.c.seq,
            followed(share.author_id),
            sa.or_(share.reply_to_author_id.is_(None), followed(share.reply_to_author_id)),
            share.author_id.not_in(hidden_from(user_id)),  # type: ignore[arg-type]
        )
        .scalar_subquery()
    )
    maybe_shared = sa.or_(_among(fi.c.seq, "shared", dialect), sa.func.coalesce(posts.c.reposts, 0) > 0)
    reposters: Any = sa.null()
    if dialect == "postgresql":  # who reposted it, in the same statement (elsewhere: one more query)
        repost = sa.orm.aliased(Post, name="repost")
        newest = (
            sa.select(User.id, User.username)
            .select_from(repost)
            .join(User, User.id == repost.author_id)
            .where(
                repost.repost_of == posts.c.id,
                followed(repost.author_id),
                repost.author_id.not_in(hidden_from(user_id)),  # type: ignore[arg-type]
            )
            .order_by(repost.created_at.desc(), repost.id)
            .limit(MAX_REPOSTERS)
            .correlate(posts)  # the outer statement's post (a derived table correlates only if told)
            .subquery("newest")
        )
        pairs = sa.func.json_agg(sa.func.json_build_array(newest.c.id, newest.c.username))
        reposters = sa.case(
            (posts.c.reposts > 0, sa.select(pairs).select_from(newest).scalar_subquery()),
        )
    shown = sa.and_(Video.status == "ready", Video.visibility == "public")
    return (
        sa.select(
            fi.c.seq,  # the order the reading loop unpacks
            fi.c.post_id,
            fi.c.video_id,
            fi.c.subject_seq,
            fi.c.author_id,
            fi.c.reply_to_author_id,
            fi.c.pushed,
            fi.c.created_at,
            posts.c.text,
            posts.c.video_id.label("p_video_id"),
            posts.c.reply_to,
            posts.c.repost_of,
            posts.c.quote_of,
            posts.c.likes,
            posts.c.reposts,
            posts.c.replies,
            posts.c.created_at.label("p_created_at"),
            posts.c.held,
            attached.title.label("a_title"),
            attached.owner_id.label("a_owner_id"),
            attached.status.label("a_status"),
            attached.visibility.label("a_visibility"),
            sa.exists().where(PostTag.post_id == fi.c.post_id).label("tagged"),
            sa.exists().where(PostMention.post_id == fi.c.post_id).label("mentioned"),
            Video.title.label("v_title"),
            Video.duration.label("v_duration"),
            Video.published_at.label("v_published_at"),
            sa.case((shown, sa.true()), else_=sa.false()).label("v_shown"),
            # scalar subqueries: an index probe each, never a hash over the whole users table
            sa.select(User.username).where(User.id == fi.c.author_id).scalar_subquery().label("username"),
            followed(fi.c.author_id).label("author_followed"),
            followed(fi.c.reply_to_author_id).label("reply_followed"),
            fi.c.author_id.in_(hidden_from(user_id)).label("author_hidden"),  # type: ignore[arg-type]
            sa.case((sa.and_(fi.c.seq == fi.c.subject_seq, maybe_shared), latest)).label("latest"),
            reposters.label("reposters"),
        )
        .select_from(fi)
        .outerjoin(posts, posts.c.id == fi.c.post_id)
        .outerjoin(attached, attached.id == posts.c.video_id)
        .outerjoin(Video, Video.id == fi.c.video_id)
        .where(_among(fi.c.seq, "seqs", dialect))
    )


def public_videos(
    session: Session, video_ids: list[str], watchable: sa.ColumnElement[bool] | None = None
) -> set[str]:
    """Those of ``video_ids`` that are ready and public (and ``watchable``, when given)."""
    if not video_ids:
        return set()
    query = sa.select(Video.id).where(
        Video.id.in_(video_ids), Video.status == "ready", Video.visibility == "public"
    )
    if watchable is not None:
        query = query.where(watchable)
    return set(session.scalars(query))
