"""The catalogue: lists of videos, read in keyset pages (``control_plane.http.pagination``).

The public catalogue holds ready, public videos of active accounts, filtered by channel, tag or
category, and sorted ``latest`` (the most recently published first) or ``popular`` (the most
viewed first; a video whose views change while a client pages may move across a page boundary).
Domains that hide a channel from a viewer (blocks and mutes) register a *hide*: given the
viewer's id and the owner column, an SQL condition true for owners to leave out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User, username_key
from control_plane.channels.cards import ChannelCard, cards
from control_plane.core.db import Database
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.videos.metadata import InvalidMetadata, normalize_tag
from control_plane.videos.models import Video, VideoTag

__all__ = ["Catalogue", "Hide", "Listed", "SORTS", "Screen"]

#: ``(viewer_id, owner id column)`` → an SQL condition, true for owners the viewer must not see.
Hide = Callable[[str, Any], sa.ColumnElement[bool]]
#: ``audience`` → an SQL condition over ``videos``, true for the videos the audience may watch
#: (geofencing and age limits register one; the audience is whatever the route hands in).
Screen = Callable[[Any], sa.ColumnElement[bool]]

SORTS = {
    "latest": Order("latest", (Video.published_at, Video.id)),
    "popular": Order("popular", (Video.views, Video.id)),
}
#: The owner's own list: every status, newest upload first.
OWNED = Order("created", (Video.created_at, Video.id))


@dataclass(frozen=True)
class Listed:
    """A video of a list with what is shown beside it: its channel and its tags, in order."""

    video: Video
    channel: ChannelCard | None
    tags: list[str]


class Catalogue:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.hides: list[Hide] = []
        self.screens: list[Screen] = []

    def on_hide(self, hide: Hide) -> None:
        """Register a domain that hides some channels from some viewers (blocks, mutes)."""
        self.hides.append(hide)

    def on_screen(self, screen: Screen) -> None:
        """Register a domain that keeps some videos from some audiences (country, age)."""
        self.screens.append(screen)

    def public(
        self,
        page: PageParams,
        *,
        sort: str = "latest",
        channel: str | None = None,
        tag: str | None = None,
        category: str | None = None,
        viewer_id: str | None = None,
        audience: Any = None,
    ) -> tuple[list[Listed], str | None]:
        """One page of the public catalogue. ``channel`` is a username (in any case); ``tag`` is normalised as
        tags are stored, so ``#Cats`` finds ``cats``. An unknown channel or a malformed tag is an
        empty list, not an error. For an ``audience``, only what every screen lets through."""
        order = SORTS[sort]
        query = (
            sa.select(Video, *order.columns)
            .join(User, User.id == Video.owner_id)
            .where(Video.status == "ready", Video.visibility == "public", User.is_active.is_(True))
        )
        if channel is not None:
            # The owner's id is looked up first and written into the statement (not bound, which a
            # prepared statement's generic plan would read as "some owner"): planned for that
            # owner, a channel with thousands of videos is read in index order, its newest or most
            # viewed first, instead of sorted whole.
            with self.db.session() as session:
                owner = session.scalar(sa.select(User.id).where(User.username_key == username_key(channel)))
            if owner is None:
                return [], None
            query = query.where(Video.owner_id == sa.literal(owner, literal_execute=True))
        if category is not None:
            query = query.where(Video.category == category)
        if tag is not None:
            try:
                wanted = normalize_tag(tag)
            except InvalidMetadata:
                return [], None
            query = query.where(sa.exists().where(VideoTag.video_id == Video.id, VideoTag.tag == wanted))
        if viewer_id is not None:
            for hide in self.hides:
                query = query.where(sa.not_(hide(viewer_id, Video.owner_id)))
        if audience is not None:
            for screen in self.screens:
                query = query.where(screen(audience))
        return self._page(query, order, page)

    def owned(
        self, owner_id: str, page: PageParams, *, status: str | None = None
    ) -> tuple[list[Listed], str | None]:
        """One page of the owner's videos, in every status (or the one asked), newest first."""
        query = sa.select(Video, *OWNED.columns).where(Video.owner_id == owner_id)
        if status is not None:
            query = query.where(Video.status == status)
        return self._page(query, OWNED, page)

    def _page(self, query: sa.Select, order: Order, page: PageParams) -> tuple[list[Listed], str | None]:
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, order, page)
            videos = [row[0] for row in rows]
            listed = describe(session, videos)
            session.expunge_all()
            return listed, cursor


def describe(session: Session, videos: Iterable[Video]) -> list[Listed]:
    """``videos`` with their channels and tags, in two queries whatever their number."""
    videos = list(videos)
    ids = [v.id for v in videos]
    tags: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for video_id, tag in session.execute(
            sa.select(VideoTag.video_id, VideoTag.tag)
            .where(VideoTag.video_id.in_(ids))
            .order_by(VideoTag.video_id, VideoTag.position)
        ):
            tags[video_id].append(tag)
    channels = cards(session, {v.owner_id for v in videos})
    return [Listed(v, channels.get(v.owner_id), tags[v.id]) for v in videos]
