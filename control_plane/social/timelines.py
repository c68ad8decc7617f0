"""Lists of posts: an account's posts, a post's replies, a hashtag's posts. Read-only.

Each list is cursor-paginated on (created_at, id) and leaves out what is hidden from the viewer
(``postviews.listed_for``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from control_plane.core.db import Database
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.social.audience import Viewer, user_named
from control_plane.social.models import Post, PostTag
from control_plane.social.postviews import listed_for, post_views, reachable_post
from control_plane.social.schemas import PostOut
from control_plane.social.text import normalize_tag

__all__ = ["Timelines"]

NEWEST_FIRST = Order("posts", (Post.created_at, Post.id))
OLDEST_FIRST = Order("thread", (Post.created_at, Post.id), descending=False)
BY_TAG = Order("tagged", (PostTag.created_at, PostTag.post_id))


class Timelines:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _page(
        self, order: Order, query: sa.Select[Any], viewer: Viewer, page: PageParams
    ) -> tuple[list[PostOut], str | None]:
        """``query`` selects ``Post``; this adds the order's columns and the viewer's filter."""
        query = query.add_columns(*order.columns).where(listed_for(viewer.user_id))
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, order, page)
            return post_views(session, [r[0] for r in rows], viewer), cursor

    def by_author(self, username: str, viewer: Viewer, page: PageParams) -> tuple[list[PostOut], str | None]:
        """The account's posts, replies and reposts, newest first."""
        with self.db.session() as session:
            author = user_named(session, username, viewer.user_id)
        return self._page(NEWEST_FIRST, sa.select(Post).where(Post.author_id == author.id), viewer, page)

    def replies(self, post_id: str, viewer: Viewer, page: PageParams) -> tuple[list[PostOut], str | None]:
        """The direct replies to a post, oldest first (a thread reads top down)."""
        with self.db.session() as session:
            reachable_post(session, post_id, viewer.user_id)
        return self._page(OLDEST_FIRST, sa.select(Post).where(Post.reply_to == post_id), viewer, page)

    def by_tag(self, tag: str, viewer: Viewer, page: PageParams) -> tuple[list[PostOut], str | None]:
        """The posts carrying ``tag`` (any spelling of it), newest first (a tag's rows copy their
        post's ``created_at``, so the keyset is the post's)."""
        query = (
            sa.select(Post)
            .join(PostTag, PostTag.post_id == Post.id)
            .where(PostTag.tag == normalize_tag(tag.removeprefix("#")))
        )
        return self._page(BY_TAG, query, viewer, page)
