"""The analytics domain's own table: subscribers a channel gained and lost per day (views and
watch time are the views domain's ``watch_daily``, read here)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base

__all__ = ["ChannelDaily"]


class ChannelDaily(Base):
    __tablename__ = "channel_daily"

    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    gained: Mapped[int] = mapped_column(sa.Integer, default=0)
    lost: Mapped[int] = mapped_column(sa.Integer, default=0)
