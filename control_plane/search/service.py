"""The search service: keeps the index fed and answers ``GET /api/v1/search``.

Posts enter and leave the index as they are made and deleted (the service subscribes to the
social domain's events). Videos and accounts are read by :meth:`SearchService.refresh`, a
periodic job, from the rows changed since its last run. Whatever the index holds, a query is
joined with the live tables: only public ready videos, active accounts and existing posts come
back, never one whose author is hidden from the caller (a block either way, or a mute).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.http.pagination import PageParams
from control_plane.search.backend import Document, SearchBackend
from control_plane.search.models import SearchDocument, SearchWatermark
from control_plane.search.queries import Finder, Result
from control_plane.search.schemas import SearchType
from control_plane.social.events import PostCreated, PostDeleted
from control_plane.social.models import Post, PostTag
from control_plane.videos.models import Video

__all__ = ["SearchService"]

#: Rows changed this long before the watermark are read again: a transaction that committed
#: late with an earlier timestamp is not missed (documents are replaced, so a re-read is harmless).
OVERLAP = timedelta(seconds=60)
BATCH = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def video_document(video: Video) -> Document:
    """A video's title, tags, description and language (the last three where the video has them;
    of a BCP 47 language tag, ``pt-BR``, the language itself, ``pt``)."""
    tags = getattr(video, "tags", None) or []
    language = getattr(video, "language", None)
    return Document(
        kind="video",
        ref_id=video.id,
        title=video.title or "",
        tags=" ".join(tags),
        body=getattr(video, "description", None) or "",
        language=language.split("-")[0].lower()[:8] if language else None,
    )


def user_document(user: User) -> Document:
    """An account by its username and display name, its bio as the body."""
    names = " ".join(n for n in (user.username, getattr(user, "display_name", None)) if n)
    return Document(kind="user", ref_id=user.id, title=names, body=getattr(user, "bio", None) or "")


class SearchService:
    def __init__(self, db: Database, backend: SearchBackend) -> None:
        self.db = db
        self.backend = backend
        self.finder = Finder(db, backend)

    def search(self, kind: SearchType, text: str, viewer_id: str | None, page: PageParams) -> Result:
        """One page of results of ``kind`` for the search box's ``text``, as ``viewer_id`` may see them."""
        return self.finder.search(kind, text, viewer_id, page)

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

    def refresh(self) -> dict[str, int]:
        """Index the videos, accounts and posts changed since the last run and drop the documents
        of deleted ones; returns how many of each were read."""
        counts = {
            "videos": self._catch_up(
                "videos", Video, Video.updated_at, lambda s, rows: [video_document(v) for v in rows]
            ),
            "users": self._catch_up(
                "users", User, User.created_at, lambda s, rows: [user_document(u) for u in rows]
            ),
            "posts": self._catch_up(
                "posts", Post, Post.created_at, lambda s, rows: self._post_documents(s, [p.id for p in rows])
            ),
        }
        with self.db.session() as session:
            for kind, model in (("video", Video), ("user", User), ("post", Post)):
                gone = sa.select(SearchDocument.ref_id).where(
                    SearchDocument.kind == kind, ~sa.exists().where(model.id == SearchDocument.ref_id)
                )
                self.backend.remove(session, kind, session.execute(gone).scalars().all())
        return counts

    def _catch_up(self, source: str, model: Any, stamp: Any, documents: Any) -> int:
        with self.db.session() as session:
            mark = session.get(SearchWatermark, source)
            since = (mark.at - OVERLAP) if mark else EPOCH
        read, newest, last_id = 0, None, ""
        while True:
            with self.db.session() as session:
                query = sa.select(model).where(
                    sa.tuple_(stamp, model.id)
                    > sa.tuple_(sa.literal(newest or since, stamp.type), sa.literal(last_id))
                )
                rows = session.execute(query.order_by(stamp, model.id).limit(BATCH)).scalars().all()
                if not rows:
                    break
                self.backend.put(session, documents(session, rows))
                newest, last_id = getattr(rows[-1], stamp.key), rows[-1].id
                read += len(rows)
        if newest is not None:
            with self.db.session() as session:
                session.merge(SearchWatermark(source=source, at=newest))
        return read
