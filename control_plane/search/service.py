"""The search service: keeps the index fed and answers ``GET /api/v1/search``.

Posts enter and leave the index as they are made and deleted (the service subscribes to the
social domain's events). Videos and accounts are read by :meth:`SearchService.refresh`, a
periodic job, from the rows changed since its last run. Whatever the index holds, a query is
joined with the live tables: only public ready videos, active accounts and existing posts come
back, never one whose author is hidden from the caller (a block either way, or a mute), never a
video the caller's audience may not watch (the *screens* registered with :meth:`SearchService.on_screen`:
geofencing and age limits), and never a post held for review to anyone but its author.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.channels.models import Channel
from control_plane.core.db import Database
from control_plane.core.leftovers import Leftovers
from control_plane.http.pagination import PageParams
from control_plane.search.backend import Document, SearchBackend
from control_plane.search.models import SearchDocument, SearchWatermark
from control_plane.search.queries import Finder, Result, Screen
from control_plane.search.schemas import SearchType
from control_plane.social.events import PostCreated, PostDeleted
from control_plane.social.models import Post, PostTag
from control_plane.videos.models import Video, VideoTag

__all__ = ["SearchService"]

#: Rows changed this long before the watermark are read again: a transaction that committed
#: late with an earlier timestamp is not missed (documents are replaced, so a re-read is harmless).
OVERLAP = timedelta(seconds=60)
BATCH = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def video_document(video: Video, tags: Sequence[str] = ()) -> Document:
    """A video's title, tags (the catalogue's, in the creator's order), description and language
    (of a BCP 47 tag, ``pt-BR``, the language itself, ``pt``)."""
    language = video.language
    return Document(
        kind="video",
        ref_id=video.id,
        title=video.title or "",
        tags=" ".join(tags),
        body=video.description or "",
        language=language.split("-")[0].lower()[:8] if language else None,
    )


def user_document(user: User, channel: Channel | None) -> Document:
    """An account by its username and its channel's display name, the channel's bio as the body."""
    display_name = channel.display_name if channel else None
    names = " ".join(n for n in (user.username, display_name) if n)
    return Document(kind="user", ref_id=user.id, title=names, body=(channel.bio if channel else None) or "")


class SearchService:
    def __init__(self, db: Database, backend: SearchBackend) -> None:
        self.db = db
        self.backend = backend
        self.finder = Finder(db, backend)

    def on_screen(self, screen: Screen) -> None:
        """Register a domain that keeps some videos from some audiences (country, age)."""
        self.finder.screens.append(screen)

    def search(
        self, kind: SearchType, text: str, viewer_id: str | None, page: PageParams, *, audience: Any = None
    ) -> Result:
        """One page of results of ``kind`` for the search box's ``text``, as ``viewer_id`` may see
        them; videos only those every screen lets ``audience`` watch (None: no screen)."""
        return self.finder.search(kind, text, viewer_id, page, audience=audience)

    # -- feeding the index ------------------------------------------------------------------

    def post_created(self, event: PostCreated) -> None:
        if event.repost_of is None:
            self.index_posts([event.post_id])

    def post_deleted(self, event: PostDeleted) -> None:
        with self.db.session() as session:
            self.backend.remove(session, "post", [event.post_id])

    def index_posts(self, post_ids: Sequence[str]) -> None:
        with self.db.session() as session:
            self.backend.put(session, self._post_documents(session, post_ids))

    @staticmethod
    def _post_documents(session: Session, post_ids: Sequence[str]) -> list[Document]:
        posts = session.execute(sa.select(Post).where(Post.id.in_(list(post_ids)), Post.repost_of.is_(None)))
        tags: dict[str, list[str]] = {}
        for post_id, name in session.execute(
            sa.select(PostTag.post_id, PostTag.name).where(PostTag.post_id.in_(list(post_ids)))
        ):
            tags.setdefault(post_id, []).append(name)
        return [
            Document(kind="post", ref_id=p.id, tags=" ".join(tags.get(p.id, [])), body=p.text)
            for p in posts.scalars()
        ]

    # -- removals, in the removing domain's transaction ------------------------------------

    def video_removed(self, session: Session, video: Video, leftovers: Leftovers) -> None:
        """A ``VideoService`` remover: the video's document goes with it."""
        self.backend.remove(session, "video", [video.id])

    def forget_user(self, session: Session, user_id: str) -> Leftovers:
        """The account closer's part of search: the account's document goes with it (its videos'
        go with each video, its posts' as each post is deleted)."""
        self.backend.remove(session, "user", [user_id])
        return Leftovers()

    # -- the periodic refresh ----------------------------------------------------------------

    def refresh(self) -> dict[str, int]:
        """Index the videos, accounts and posts changed since the last run and drop the documents
        of deleted ones; returns how many of each were read.

        Each document is built from its owners' rows: a video from its row and its ``VideoTag``s
        (a tag edit bumps the video's ``updated_at``), an account from its user and its channel
        (read again when either was made or the channel edited: ``channels.updated_at``)."""
        counts = {
            "videos": self._catch_up("videos", Video.updated_at, Video.id, self._video_documents),
            "users": self._catch_up("users", User.created_at, User.id, self._user_documents),
            "channels": self._catch_up("channels", Channel.updated_at, Channel.user_id, self._user_documents),
            "posts": self._catch_up("posts", Post.created_at, Post.id, self._post_documents),
        }
        with self.db.session() as session:
            for kind, model in (("video", Video), ("user", User), ("post", Post)):
                gone = sa.select(SearchDocument.ref_id).where(
                    SearchDocument.kind == kind, ~sa.exists().where(model.id == SearchDocument.ref_id)
                )
                self.backend.remove(session, kind, session.execute(gone).scalars().all())
        return counts

    @staticmethod
    def _video_documents(session: Session, video_ids: Sequence[str]) -> list[Document]:
        tags: dict[str, list[str]] = {}
        for video_id, tag in session.execute(
            sa.select(VideoTag.video_id, VideoTag.tag)
            .where(VideoTag.video_id.in_(list(video_ids)))
            .order_by(VideoTag.video_id, VideoTag.position)
        ):
            tags.setdefault(video_id, []).append(tag)
        videos = session.execute(sa.select(Video).where(Video.id.in_(list(video_ids)))).scalars()
        return [video_document(v, tags.get(v.id, ())) for v in videos]

    @staticmethod
    def _user_documents(session: Session, user_ids: Sequence[str]) -> list[Document]:
        rows = session.execute(
            sa.select(User, Channel)
            .outerjoin(Channel, Channel.user_id == User.id)
            .where(User.id.in_(list(user_ids)))
        )
        return [user_document(user, channel) for user, channel in rows]

    def _catch_up(
        self,
        source: str,
        stamp: Any,
        key: Any,
        documents: Callable[[Session, Sequence[str]], list[Document]],
    ) -> int:
        """Put the documents of the rows whose ``stamp`` is past the source's watermark (less
        ``OVERLAP``), in batches ordered by (``stamp``, ``key``); then move the watermark."""
        with self.db.session() as session:
            mark = session.get(SearchWatermark, source)
            since = (mark.at - OVERLAP) if mark else EPOCH
        read, newest, last_key = 0, None, ""
        while True:
            with self.db.session() as session:
                after = sa.tuple_(sa.literal(newest or since, stamp.type), sa.literal(last_key))
                query = sa.select(stamp, key).where(sa.tuple_(stamp, key) > after)
                rows = session.execute(query.order_by(stamp, key).limit(BATCH)).all()
                if not rows:
                    break
                self.backend.put(session, documents(session, [r[1] for r in rows]))
                newest, last_key = rows[-1]
                read += len(rows)
        if newest is not None:
            with self.db.session() as session:
                session.merge(SearchWatermark(source=source, at=newest))
        return read
