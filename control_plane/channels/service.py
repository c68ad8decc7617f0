"""The channel service: the one writer of the ``channels`` table (profile text, avatar, counts)."""

from __future__ import annotations

import logging
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from control_plane.accounts.models import User, username_key
from control_plane.channels.avatar import render_avatar
from control_plane.channels.cards import avatar_key, avatar_prefix
from control_plane.channels.models import Channel
from control_plane.core.counts import count_changes
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import NotFound, Unprocessable
from control_plane.core.leftovers import Leftovers
from control_plane.videos.models import Video
from storage import BlobStore

__all__ = ["COUNTS", "MAX_BIO", "MAX_DISPLAY_NAME", "ChannelService", "Profile", "Relation"]

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = 50  # characters
MAX_BIO = 1000  # characters
#: The counts kept on a channel row (``add_counts``).
COUNTS = ("followers", "following", "posts")
#: What the viewer is to a channel's owner, from the domains that know (the social graph):
#: ``(session, viewer_id, user_id)`` → ``{"is_following": bool, "is_blocked": bool, ...}``.
Relation = Callable[[Session, str, str], Mapping[str, bool]]


class InvalidProfile(Unprocessable):
    """A display name or bio that breaks a rule the schema cannot state (control characters)."""

    code = "INVALID_PROFILE"


@dataclass(frozen=True)
class Profile:
    """A channel as the public sees it. Counts are whole numbers; ``videos`` counts the public,
    ready ones. ``relations`` is what the signed-in viewer is to it (empty when anonymous)."""

    id: str
    username: str
    display_name: str
    bio: str
    avatar: str | None
    created_at: datetime
    followers: int
    following: int
    posts: int
    videos: int
    relations: Mapping[str, bool]


class ChannelService:
    """Profiles, avatars and counts. ``store`` keeps the avatar files; ``enqueue`` is the jobs port
    (a purge the store refuses is retried by a job)."""

    def __init__(self, db: Database, store: BlobStore, enqueue: Callable[..., object]) -> None:
        self.db = db
        self.store = store
        self.enqueue = enqueue
        self.relations: list[Relation] = []

    def on_relation(self, relation: Relation) -> None:
        """Register a domain that tells what a viewer is to a channel (``Profile.relations``)."""
        self.relations.append(relation)

    # -- reading ---------------------------------------------------------------------------

    def profile(self, username: str, *, viewer_id: str | None = None) -> Profile:
        """The public profile of an active user, named in any case (``Ada`` is ``ada``, as at
        sign-in: the ``username_key``); ``NotFound`` otherwise."""
        with self.db.session() as session:
            row = session.execute(
                sa.select(User, Channel)
                .outerjoin(Channel, Channel.user_id == User.id)
                .where(User.username_key == username_key(username), User.is_active.is_(True))
            ).first()
            if row is None:
                raise NotFound("No such channel.", code="CHANNEL_NOT_FOUND")
            user, channel = row
            videos = session.scalar(
                sa.select(sa.func.count())
                .select_from(Video)
                .where(Video.owner_id == user.id, Video.status == "ready", Video.visibility == "public")
            )
            relations: dict[str, bool] = {}
            if viewer_id is not None and viewer_id != user.id:
                for relation in self.relations:
                    relations.update(relation(session, viewer_id, user.id))
            return Profile(
                id=user.id,
                username=user.username,
                display_name=(channel and channel.display_name) or user.username,
                bio=(channel and channel.bio) or "",
                avatar=channel.avatar if channel else None,
                created_at=user.created_at,
                followers=channel.followers if channel else 0,
                following=channel.following if channel else 0,
                posts=channel.posts if channel else 0,
                videos=int(videos or 0),
                relations=relations,
            )

    # -- the owner's changes ---------------------------------------------------------------

    def edit(self, user_id: str, changes: Mapping[str, Any]) -> None:
        """Change ``display_name`` (1 to 50 characters) or ``bio`` (up to 1000); ``None`` clears
        either. Text is kept as written (HTML included) and never rendered by the platform."""
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "display_name":
                values[name] = _display_name(value)
            elif name == "bio":
                if value is not None and len(value) > MAX_BIO:
                    raise InvalidProfile(f"A bio has at most {MAX_BIO} characters.")
                values[name] = value or None
            else:
                raise InvalidProfile(f"A profile has no field {name!r}.")
        if not values:
            return
        with self.db.session() as session:
            self._ensure(session, user_id)
            session.execute(
                sa.update(Channel).where(Channel.user_id == user_id).values(**values, updated_at=utcnow())
            )

    def set_avatar(self, user_id: str, data: bytes) -> str:
        """Make ``data`` (an image) the user's avatar at every size; returns its version.

        The new files are written first and the old version's removed after the switch, so the
        profile never points at a missing picture. See ``avatar.render_avatar`` for the checks.
        """
        files = render_avatar(data)
        version = secrets.token_hex(8)
        for size, blob in files.items():
            self.store.put(avatar_key(user_id, version, size), blob, content_type="image/webp")
        try:
            with self.db.session() as session:
                old = self._switch_avatar(session, user_id, version)
        except BaseException:
            self.store.delete_prefix(f"{avatar_prefix(user_id)}{version}/")
            raise
        if old is not None:
            Leftovers(prefixes=[f"{avatar_prefix(user_id)}{old}/"]).settle(self.store, self.enqueue)
        return version

    def remove_avatar(self, user_id: str) -> None:
        """Back to no avatar; its files are deleted."""
        with self.db.session() as session:
            old = self._switch_avatar(session, user_id, None)
        if old is not None:
            Leftovers(prefixes=[f"{avatar_prefix(user_id)}{old}/"]).settle(self.store, self.enqueue)

    def _switch_avatar(self, session: Session, user_id: str, version: str | None) -> str | None:
        self._ensure(session, user_id)
        channel = session.get(Channel, user_id, with_for_update=True)
        assert channel is not None
        old, channel.avatar = channel.avatar, version
        return old

    # -- counts ----------------------------------------------------------------------------

    @staticmethod
    def add_counts(session: Session, user_id: str, **deltas: int) -> None:
        """Add to the channel's ``followers``, ``following`` or ``posts`` in one statement (so that
        concurrent callers add up), in the caller's transaction: the social graph and posts call
        this in the transaction that adds or removes the rows counted."""
        deltas = count_changes(deltas, COUNTS)
        if not deltas:
            return
        insert = _insert(session).values(
            user_id=user_id, updated_at=utcnow(), **{n: max(d, 0) for n, d in deltas.items()}
        )
        table = Channel.__table__.c
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[table.user_id],
                set_={name: table[name] + delta for name, delta in deltas.items()},
            )
        )

    # -- removal ---------------------------------------------------------------------------

    def remove_rows_of_owner(self, session: Session, user_id: str) -> Leftovers:
        """The channel's part in closing the account: its row goes with the user (foreign key),
        its avatar files after the commit."""
        return Leftovers(prefixes=[avatar_prefix(user_id)])

    @staticmethod
    def _ensure(session: Session, user_id: str) -> None:
        """The user's channel row, made with the defaults if it is not there yet."""
        session.execute(
            _insert(session)
            .values(user_id=user_id, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=[Channel.__table__.c.user_id])
        )


def _insert(session: Session) -> Any:
    """An INSERT of a channel row that can say what to do on conflict (PostgreSQL and SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Channel)


def _display_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise InvalidProfile(f"A display name has 1 to {MAX_DISPLAY_NAME} characters.")
    # Format characters can reverse or hide text; the zero-width joiner only glues emoji together.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\u200d" for ch in name):
        raise InvalidProfile("A display name has no control or formatting characters.")
    return name
