"""The channels domain's table: each user's public face (display name, bio, avatar) and the counts
shown on it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = ["Channel"]


class Channel(Base):
    """A user's channel. The row is made on the first write (an edit, an avatar, a count), so a
    user without one reads as the defaults: no display name, no bio, no avatar, zero counts.

    ``followers``, ``following`` and ``posts`` are kept here so a profile needs no aggregate;
    ``ChannelService.add_counts`` is their one writer (the social graph and posts call it in the
    transaction that changes their own rows).
    """

    __tablename__ = "channels"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    bio: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    #: The version of the current avatar (part of its file names), or None without one.
    avatar: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    followers: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    following: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    posts: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
