"""Sharing the month's pool by watch time, and the seams it reads through.

``WatchTimeSource`` says how many seconds of each video were watched in a month (until the views
issue lands its own store, :class:`RecordedWatchTime` reads ``watch_time_daily``, which
:meth:`RecordedWatchTime.record` adds to). ``ClaimSource`` names, for a video, the rights holders
whose Content-ID ``monetize`` claims stand on it: the video's share goes to them instead of its
creator (split evenly among them), as YouTube sends a claimed video's revenue to the claimant.

:func:`allocate` shares an integer amount by weights with the largest-remainder method, so the
parts are integers that add up to the amount exactly: no cent is made or lost by rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.contentid.models import Claim, Reference
from control_plane.payments.ledger import upsert
from control_plane.payments.models import WatchTime
from control_plane.videos.models import Video

__all__ = ["ClaimSource", "MonetizeClaims", "RecordedWatchTime", "Watched", "WatchTimeSource", "allocate"]

#: Claim states in which a monetize claim takes the video's revenue (those that also block).
STANDING = ("active", "disputed", "upheld")


@dataclass(frozen=True)
class Watched:
    video_id: str
    owner_id: str
    seconds: int


class WatchTimeSource(Protocol):
    def watched(self, session: Session, month: str) -> list[Watched]:
        """Seconds watched per video in ``month`` (``YYYY-MM``), videos with none left out."""
        ...


class ClaimSource(Protocol):
    def holders(self, session: Session, video_ids: Sequence[str]) -> dict[str, list[str]]:
        """``{video_id: [rights holder ids]}`` for the videos a monetize claim stands on."""
        ...


class RecordedWatchTime:
    """Watch time kept per video and day in ``watch_time_daily``."""

    @staticmethod
    def record(session: Session, video_id: str, seconds: int, day: date) -> None:
        """Add ``seconds`` watched of the video on ``day``."""
        if seconds <= 0:
            return
        table = WatchTime.__table__
        stmt = upsert(session, WatchTime).values(video_id=video_id, day=day.isoformat(), seconds=seconds)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["video_id", "day"], set_={"seconds": table.c.seconds + seconds}
            )
        )

    def watched(self, session: Session, month: str) -> list[Watched]:
        rows = session.execute(
            sa.select(WatchTime.video_id, Video.owner_id, sa.func.sum(WatchTime.seconds))
            .join(Video, Video.id == WatchTime.video_id)
            .where(WatchTime.day.like(f"{month}-%"))
            .group_by(WatchTime.video_id, Video.owner_id)
        )
        return [Watched(v, o, int(s)) for v, o, s in rows if s and s > 0]


class MonetizeClaims:
    """Content-ID's standing ``monetize`` claims, read from its tables."""

    def holders(self, session: Session, video_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        for chunk in range(0, len(video_ids), 500):
            rows = session.execute(
                sa.select(Claim.video_id, Reference.owner_id)
                .join(Reference, Reference.id == Claim.reference_id)
                .where(
                    Claim.video_id.in_(list(video_ids[chunk : chunk + 500])),
                    Claim.policy == "monetize",
                    Claim.status.in_(STANDING),
                )
            )
            for video_id, owner_id in rows:
                found.setdefault(video_id, set()).add(owner_id)
        return {video: sorted(owners) for video, owners in found.items()}


def allocate(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Share ``amount`` by ``weights`` (non-negative integers) into integers that sum to it exactly
    (largest remainder; ties go to the smaller key, so the result is deterministic)."""
    total = sum(weights.values())
    if amount <= 0 or total <= 0:
        return {key: 0 for key in weights}
    shares = {key: amount * w // total for key, w in weights.items()}
    left = amount - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(amount * weights[key] % total), key))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares
