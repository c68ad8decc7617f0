"""Search queries per type, each the index's matches joined with the live tables.

Results are ordered by rank, best first, and cursor-paginated on (rank, id); hashtags by how many
posts carry them. Only public ready videos of active accounts, active accounts, and posts of
active accounts come back, never one whose author is hidden from the viewer, never a video the
viewer's audience may not watch (the registered screens: geofencing, age limits), never a post
held for review but to its author. A hashtag counts only posts shown to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.search.backend import SearchBackend
from control_plane.search.schemas import SearchHit, SearchType
from control_plane.search.terms import terms_of
from control_plane.social.audience import visible_to
from control_plane.social.models import Hashtag, Post
from control_plane.social.postviews import shown_to
from control_plane.social.schemas import UserBrief
from control_plane.social.text import normalize_tag
from control_plane.videos.models import Video

__all__ = ["Finder", "Screen"]

#: ``audience`` → an SQL condition over ``videos``, true for the videos the audience may watch.
Screen = Callable[[Any], sa.ColumnElement[bool]]

HASHTAGS = Order("hashtags", (Hashtag.posts, Hashtag.tag))
Result = tuple[list[SearchHit], str | None]


class Finder:
    def __init__(self, db: Database, backend: SearchBackend) -> None:
        self.db = db
        self.backend = backend
        self.screens: list[Screen] = []

    def search(
        self, kind: SearchType, text: str, viewer_id: str | None, page: PageParams, *, audience: Any = None
    ) -> Result:
        if kind == "hashtags":
            return self._hashtags(text, page)
        terms = terms_of(text)
        if not terms:
            return [], None
        index_kind = {"videos": "video", "channels": "user", "posts": "post"}[kind]
        with self.db.session() as session:
            matches = self.backend.matches(session, index_kind, terms).subquery()
            # Each query selects the rank and the id last: the order's columns.
            order = Order(f"search_{kind}", (matches.c.rank, matches.c.ref_id))
            query, hit = {"videos": self._videos, "channels": self._channels, "posts": self._posts}[kind](
                matches, viewer_id
            )
            if kind == "videos" and audience is not None:
                for screen in self.screens:
                    query = query.where(screen(audience))
            rows, cursor = keyset_page(session, query, order, page)
        return [hit(r) for r in rows], cursor

    @staticmethod
    def _videos(m: Any, viewer_id: str | None) -> tuple[sa.Select[Any], Any]:
        query = (
            sa.select(
                Video.title, Video.created_at, User.id.label("uid"), User.username, m.c.rank, m.c.ref_id
            )
            .join(Video, Video.id == m.c.ref_id)
            .join(User, User.id == Video.owner_id)
            .where(
                Video.status == "ready",
                Video.visibility == "public",
                User.is_active.is_(True),
                visible_to(Video.owner_id, viewer_id),
            )
        )

        def hit(r: Any) -> SearchHit:
            author = UserBrief(id=r.uid, username=r.username)
            return SearchHit(type="video", id=r.ref_id, title=r.title, author=author, created_at=r.created_at)

        return query, hit

    @staticmethod
    def _channels(m: Any, viewer_id: str | None) -> tuple[sa.Select[Any], Any]:
        query = (
            sa.select(User.username, User.created_at, m.c.rank, m.c.ref_id)
            .join(User, User.id == m.c.ref_id)
            .where(User.is_active.is_(True), visible_to(User.id, viewer_id))
        )

        def hit(r: Any) -> SearchHit:
            return SearchHit(type="channel", id=r.ref_id, title=r.username, created_at=r.created_at)

        return query, hit

    @staticmethod
    def _posts(m: Any, viewer_id: str | None) -> tuple[sa.Select[Any], Any]:
        query = (
            sa.select(Post.text, Post.created_at, User.id.label("uid"), User.username, m.c.rank, m.c.ref_id)
            .join(Post, Post.id == m.c.ref_id)
            .join(User, User.id == Post.author_id)
            .where(User.is_active.is_(True), visible_to(Post.author_id, viewer_id), shown_to(Post, viewer_id))
        )

        def hit(r: Any) -> SearchHit:
            author = UserBrief(id=r.uid, username=r.username)
            return SearchHit(
                type="post", id=r.ref_id, title="", text=r.text, author=author, created_at=r.created_at
            )

        return query, hit

    def _hashtags(self, text: str, page: PageParams) -> Result:
        """Tags starting with the text (``#`` optional), the most used first."""
        prefix = normalize_tag("".join(terms_of(text).words[:1]))
        if not prefix:
            return [], None
        query: sa.Select = sa.select(Hashtag.name, *HASHTAGS.columns).where(
            Hashtag.tag.startswith(prefix, autoescape=True), Hashtag.posts > 0
        )
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, HASHTAGS, page)
        return [SearchHit(type="hashtag", id=r.tag, title=r.name, posts=r.posts) for r in rows], cursor
