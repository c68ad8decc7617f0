"""How a channel is named wherever something of it is listed: its username, display name and
avatar, read for many users in one query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.channels.models import Channel

__all__ = ["ChannelCard", "avatar_key", "avatar_prefix", "avatar_urls", "cards"]


@dataclass(frozen=True)
class ChannelCard:
    id: str
    username: str
    #: What the channel calls itself; its username when it has not said.
    display_name: str
    #: The avatar's version (see ``avatar_urls``), or None without one.
    avatar: str | None


def avatar_prefix(user_id: str) -> str:
    """The folder of a user's avatar files in the blob store."""
    return f"avatars/{user_id}/"


def avatar_key(user_id: str, version: str, size: int) -> str:
    """One avatar file: a new version gets new keys, so caches never serve a replaced picture."""
    return f"{avatar_prefix(user_id)}{version}/{size}.webp"


def avatar_urls(public_url: str, user_id: str, version: str | None, sizes: Iterable[int]) -> dict[str, str]:
    """The avatar's public URL at each size (``{"48": url, ...}``); empty without an avatar."""
    if version is None:
        return {}
    return {str(size): f"{public_url}/media/{avatar_key(user_id, version, size)}" for size in sizes}


def cards(session: Session, user_ids: Iterable[str]) -> dict[str, ChannelCard]:
    """The cards of ``user_ids`` that exist (and are active), by user id."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(User.id, User.username, Channel.display_name, Channel.avatar)
        .outerjoin(Channel, Channel.user_id == User.id)
        .where(User.id.in_(wanted), User.is_active.is_(True))
    )
    return {r.id: ChannelCard(r.id, r.username, r.display_name or r.username, r.avatar) for r in rows}
