"""The read side of analytics: a video's or a channel's views, watch time, average view duration,
retention curve, traffic by country and device, daily series and subscribers (per day and in
all), over a date range.

Views and watch time come from the views domain's ``watch_daily`` (UTC days, so a range is whole
days); the retention curve from its histogram of finished sessions plus the sessions still
running, over the video's life (positions are not kept per day); subscribers from the channel's
own ``channel_daily``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.analytics.models import ChannelDaily
from control_plane.views.models import ViewSession, WatchDaily, WatchRetention

__all__ = ["Day", "LiveStat", "Point", "Report", "Slice", "channel_report", "to_csv", "video_report"]

#: Points of a retention curve at most (a long video's curve is sampled evenly).
MAX_POINTS = 200


@dataclass(frozen=True)
class Point:
    second: int
    share: float


@dataclass(frozen=True)
class Day:
    day: date
    views: int
    watch_seconds: float
    #: Channel reports only: subscribers gained and lost that day.
    gained: int | None = None
    lost: int | None = None


@dataclass(frozen=True)
class Slice:
    key: str
    views: int
    watch_seconds: float


@dataclass(frozen=True)
class LiveStat:
    """A live stream of a channel's report: when it ran and its peak of concurrent viewers."""

    stream_id: str
    title: str
    started_at: datetime | None
    ended_at: datetime | None
    peak_viewers: int


@dataclass
class Report:
    start: date
    end: date
    views: int = 0
    watch_seconds: float = 0.0
    retention: list[Point] = field(default_factory=list)
    countries: list[Slice] = field(default_factory=list)
    devices: list[Slice] = field(default_factory=list)
    daily: list[Day] = field(default_factory=list)
    subscribers_gained: int | None = None
    subscribers_lost: int | None = None
    #: Per currency, as the payments domain reports it (``payments.earned.Earned``): filled by
    #: the service, not read here.
    revenue: list[Any] = field(default_factory=list)
    #: Channel reports only: the live streams that started in the range (filled by the service).
    live: list[LiveStat] = field(default_factory=list)

    @property
    def average_view_duration(self) -> float:
        """Watch seconds per view (0 without views)."""
        return round(self.watch_seconds / self.views, 3) if self.views else 0.0


def _watch(session: Session, where: sa.ColumnElement[bool], start: date, end: date) -> Report:
    report = Report(start, end)
    in_range = sa.and_(where, WatchDaily.day >= start, WatchDaily.day <= end)
    views = sa.func.sum(WatchDaily.views)
    seconds = sa.func.sum(WatchDaily.watch_seconds)
    by_day = {
        day: (int(v or 0), float(s or 0.0))
        for day, v, s in session.execute(
            sa.select(WatchDaily.day, views, seconds).where(in_range).group_by(WatchDaily.day)
        )
    }
    report.daily = [
        Day(d, *by_day.get(d, (0, 0.0)))
        for d in (start + timedelta(days=i) for i in range((end - start).days + 1))
    ]
    report.views = sum(d.views for d in report.daily)
    report.watch_seconds = round(sum(d.watch_seconds for d in report.daily), 3)
    for column, target in ((WatchDaily.country, report.countries), (WatchDaily.device, report.devices)):
        rows = session.execute(
            sa.select(column, views, seconds).where(in_range).group_by(column).order_by(views.desc(), column)
        )
        target.extend(Slice(key, int(v or 0), round(float(s or 0.0), 3)) for key, v, s in rows)
    return report


def _retention(session: Session, video_id: str, duration: float | None) -> list[Point]:
    counts: dict[int, int] = defaultdict(int)
    for second, n in session.execute(
        sa.select(WatchRetention.second, WatchRetention.sessions).where(WatchRetention.video_id == video_id)
    ):
        counts[int(second)] += int(n)
    running = sa.cast(sa.func.floor(ViewSession.max_position), sa.Integer)
    for second, n in session.execute(
        sa.select(running, sa.func.count())
        .where(ViewSession.video_id == video_id, ViewSession.rolled.is_(False), ViewSession.watched > 0)
        .group_by(running)
    ):
        counts[int(second)] += int(n)
    total = sum(counts.values())
    if not total:
        return []
    length = max(int(math.ceil(duration or 0)), max(counts))
    step = max(1, math.ceil(length / MAX_POINTS))
    reached = [0] * (length + 2)
    for second, n in counts.items():
        reached[min(second, length)] += n
    for second in range(length - 1, -1, -1):
        reached[second] += reached[second + 1]
    return [Point(t, round(reached[t] / total, 4)) for t in range(0, length + 1, step)]


def video_report(session: Session, video_id: str, start: date, end: date, duration: float | None) -> Report:
    report = _watch(session, WatchDaily.video_id == video_id, start, end)
    report.retention = _retention(session, video_id, duration)
    return report


def channel_report(session: Session, owner_id: str, start: date, end: date) -> Report:
    report = _watch(session, WatchDaily.owner_id == owner_id, start, end)
    subscribers = {
        day: (int(gained or 0), int(lost or 0))
        for day, gained, lost in session.execute(
            sa.select(ChannelDaily.day, ChannelDaily.gained, ChannelDaily.lost).where(
                ChannelDaily.owner_id == owner_id, ChannelDaily.day >= start, ChannelDaily.day <= end
            )
        )
    }
    report.daily = [
        Day(d.day, d.views, d.watch_seconds, *subscribers.get(d.day, (0, 0))) for d in report.daily
    ]
    report.subscribers_gained = sum(g for g, _ in subscribers.values())
    report.subscribers_lost = sum(lost for _, lost in subscribers.values())
    return report


def to_csv(report: Report) -> str:
    """The daily series as CSV (RFC 4180): ``day,views,watch_seconds,average_view_duration``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["day", "views", "watch_seconds", "average_view_duration"])
    for day in report.daily:
        average = round(day.watch_seconds / day.views, 3) if day.views else 0.0
        writer.writerow([day.day.isoformat(), day.views, round(day.watch_seconds, 3), average])
    return out.getvalue()
