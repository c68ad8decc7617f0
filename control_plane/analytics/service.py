"""The analytics domain's service: reports over the views domain's figures, charts drawn by a job
and cached in the blob store, the subscribers a channel gains and loses (from the events hub), and
revenue as the payments domain reports it (its ``EarnedReport``, handed in: analytics never reads
the payments tables), and the peak viewers of the channel's live streams (from the live domain's
``StreamService``, likewise).

A chart is asked for by the API: if the blob of its (video, kind, range, period) is there it is
served, else the ``analytics.chart`` job is enqueued (once per key a minute) and the API answers
202 until it lands. ``period`` is the current ``chart_ttl``-second slice of time, so a chart is
drawn again at most once per ``chart_ttl`` seconds per range.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol

from control_plane.analytics.chart import render
from control_plane.analytics.models import ChannelDaily
from control_plane.analytics.report import LiveStat, Report, channel_report, video_report
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import NotFound, Unprocessable
from control_plane.core.kv import KeyValue
from control_plane.core.upsert import upsert
from control_plane.videos.models import Video
from storage import BlobNotFound, BlobStore

__all__ = ["AnalyticsService", "Earnings", "Followee", "LiveStreams", "MAX_DAYS", "date_range"]


class Earnings(Protocol):
    """What creators earned, per currency (``payments.earned.EarnedReport``)."""

    def channel(self, user_id: str, start: date, end: date) -> list[Any]: ...

    def video(self, video_id: str, owner_id: str, start: date, end: date) -> list[Any]: ...


class LiveStreams(Protocol):
    """A creator's live streams that started in a range (``live.StreamService``)."""

    def started_between(self, owner_id: str, since: datetime, until: datetime) -> list[Any]: ...


class Followee(Protocol):
    """A follow or unfollow event: whose channel it is about."""

    @property
    def followee_id(self) -> str: ...


#: The longest range a report covers, days.
MAX_DAYS = 366
#: Days a report covers when no range is given.
DEFAULT_DAYS = 28


def date_range(start: date | None, end: date | None) -> tuple[date, date]:
    """The range asked for, whole UTC days; ``Unprocessable`` when it is reversed or too long."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        raise Unprocessable(
            f"'from' must not be after 'to', and a range covers at most {MAX_DAYS} days.",
            code="INVALID_RANGE",
        )
    return start, end


class AnalyticsService:
    """``store`` keeps rendered charts; ``enqueue`` is the jobs port; ``chart_ttl`` seconds;
    ``earnings`` the payments domain's revenue (None: reports carry no revenue)."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        kv: KeyValue,
        enqueue: Callable[..., object],
        *,
        chart_ttl: int = 600,
        clock: Callable[[], float] = time.time,
        earnings: Earnings | None = None,
        streams: LiveStreams | None = None,
        peaks: Callable[[str], int] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.kv = kv
        self.enqueue = enqueue
        self.chart_ttl = chart_ttl
        self.clock = clock
        self.earnings = earnings
        self.streams = streams
        self.peaks = peaks

    # -- reports ----------------------------------------------------------------------------

    def video(self, video_id: str, start: date, end: date) -> Report:
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
            owner_id = video.owner_id
            report = video_report(session, video_id, start, end, video.duration)
        if self.earnings is not None:
            report.revenue = self.earnings.video(video_id, owner_id, start, end)
        return report

    def channel(self, owner_id: str, start: date, end: date) -> Report:
        with self.db.session() as session:
            report = channel_report(session, owner_id, start, end)
        if self.earnings is not None:
            report.revenue = self.earnings.channel(owner_id, start, end)
        if self.streams is not None:
            since = datetime.combine(start, dtime(), tzinfo=UTC)
            for stream in self.streams.started_between(
                owner_id, since, since + timedelta(days=(end - start).days + 1)
            ):
                live = self.peaks(stream.id) if self.peaks is not None and stream.status == "live" else 0
                report.live.append(
                    LiveStat(
                        stream_id=stream.id,
                        title=stream.title,
                        started_at=stream.started_at,
                        ended_at=stream.ended_at,
                        peak_viewers=max(stream.peak_viewers, live),
                    )
                )
        return report

    # -- charts -----------------------------------------------------------------------------

    def chart_key(self, video_id: str, kind: str, start: date, end: date) -> str:
        period = int(self.clock() // self.chart_ttl)
        return f"analytics/{video_id}/{kind}-{start.isoformat()}-{end.isoformat()}-{period}.png"

    def chart(self, video_id: str, kind: str, start: date, end: date) -> bytes | None:
        """The chart's PNG if drawn in this period; else None, with its job enqueued."""
        key = self.chart_key(video_id, kind, start, end)
        try:
            return self.store.read(key)
        except BlobNotFound:
            pass
        if self.kv.set(f"chart:{key}", b"1", ttl=60, only_if_absent=True):
            self.enqueue(
                "analytics.chart",
                args={
                    "video_id": video_id,
                    "kind": kind,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "key": key,
                },
                subject=f"video:{video_id}",
            )
        return None

    def draw(self, video_id: str, kind: str, start: date, end: date, key: str) -> int:
        """The job's work: draw the chart and store it under ``key``; returns its size in bytes."""
        png = render(self.video(video_id, start, end), kind)
        return self.store.put(key, png, content_type="image/png")

    # -- subscribers ------------------------------------------------------------------------

    def followed(self, event: Followee) -> None:
        """A ``UserFollowed``: the followee's channel gained a subscriber today."""
        self._subscribers(event.followee_id, gained=1)

    def unfollowed(self, event: Followee) -> None:
        """A ``UserUnfollowed`` (an unfollow, or a block that ended the follow): the followee's
        channel lost a subscriber today."""
        self._subscribers(event.followee_id, lost=1)

    def _subscribers(self, owner_id: str, *, gained: int = 0, lost: int = 0) -> None:
        with self.db.session() as session:
            upsert(
                session,
                ChannelDaily,
                [{"owner_id": owner_id, "day": utcnow().date(), "gained": gained, "lost": lost}],
                add=("gained", "lost"),
            )
