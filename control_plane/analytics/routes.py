"""Creator analytics: a video's (its owner and moderators) and the signed-in creator's channel,
as JSON or CSV (``?format=csv``), and PNG charts drawn by a job."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from control_plane.analytics.report import Report, to_csv
from control_plane.analytics.service import date_range
from control_plane.core.errors import Forbidden, NotFound
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import answers, problems
from control_plane.videos.models import Video

router = APIRouter(prefix="/api/v1", tags=["analytics"])

Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]
From = Annotated[date | None, Query(alias="from", description="first UTC day (default: 27 days before `to`)")]
To = Annotated[date | None, Query(alias="to", description="last UTC day (default: today)")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the daily series as CSV")]
CSV = answers(200, "text/csv", description="the report (JSON), or its daily series as CSV")


class PointOut(BaseModel):
    second: int
    share: float = Field(description="share (0..1) of viewers still watching at this second")


class DayOut(BaseModel):
    day: date
    views: int
    watch_seconds: float
    subscribers_gained: int | None = Field(None, description="channel reports only")
    subscribers_lost: int | None = Field(None, description="channel reports only")


class RevenueOut(BaseModel):
    currency: str = Field(description="ISO 4217, upper case")
    total: int = Field(description="minor units")
    by_kind: dict[str, int] = Field(
        description="minor units by kind: watch (the watch-time pool's share), membership, tip, and "
        "the reversals refund, dispute (negative) and dispute_won; a video has watch only"
    )


class SliceOut(BaseModel):
    key: str = Field(description="an ISO country code (ZZ: unknown), or a device class")
    views: int
    watch_seconds: float


class LiveOut(BaseModel):
    stream_id: str
    title: str
    started_at: datetime | None
    ended_at: datetime | None
    peak_viewers: int = Field(description="the most viewers watching at once")


class AnalyticsOut(BaseModel):
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    views: int
    watch_seconds: float
    average_view_duration: float = Field(description="watch seconds per view")
    retention: list[PointOut] = Field(description="over the video's whole life; empty for a channel")
    countries: list[SliceOut]
    devices: list[SliceOut]
    daily: list[DayOut]
    subscribers_gained: int | None = Field(description="channel reports only")
    subscribers_lost: int | None = Field(description="channel reports only")
    revenue: list[RevenueOut] = Field(
        description="what the payments ledger recorded over the range, per currency (a video: its "
        "watch-time earnings; a channel: those, memberships and tips, after fees)"
    )
    live: list[LiveOut] = Field(
        default_factory=list, description="channel reports only: live streams started in the range"
    )


def _out(report: Report, format: str) -> AnalyticsOut | Response:
    if format == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8")
    return AnalyticsOut(
        start=report.start,
        end=report.end,
        views=report.views,
        watch_seconds=report.watch_seconds,
        average_view_duration=report.average_view_duration,
        retention=[PointOut(second=p.second, share=p.share) for p in report.retention],
        countries=[
            SliceOut(key=s.key, views=s.views, watch_seconds=s.watch_seconds) for s in report.countries
        ],
        devices=[SliceOut(key=s.key, views=s.views, watch_seconds=s.watch_seconds) for s in report.devices],
        daily=[
            DayOut(
                day=d.day,
                views=d.views,
                watch_seconds=d.watch_seconds,
                subscribers_gained=d.gained,
                subscribers_lost=d.lost,
            )
            for d in report.daily
        ],
        subscribers_gained=report.subscribers_gained,
        subscribers_lost=report.subscribers_lost,
        revenue=[RevenueOut(currency=e.currency, total=e.total, by_kind=e.by_kind) for e in report.revenue],
        live=[
            LiveOut(
                stream_id=s.stream_id,
                title=s.title,
                started_at=s.started_at,
                ended_at=s.ended_at,
                peak_viewers=s.peak_viewers,
            )
            for s in report.live
        ],
    )


def _owned(services: ServicesDep, principal: PrincipalDep, video_id: str) -> None:
    """The caller owns the video or moderates; 404 for a video they cannot see, 403 otherwise."""
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        if video.owner_id != principal.user.id and not principal.has_role("moderator"):
            raise Forbidden("Only the video's owner sees its analytics.", code="NOT_OWNER")


@router.get(
    "/videos/{video_id}/analytics",
    response_model=AnalyticsOut,
    response_model_by_alias=True,
    responses={**CSV, **problems(403)},
)
def video_analytics(
    video_id: Id,
    principal: PrincipalDep,
    services: ServicesDep,
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> AnalyticsOut | Response:
    """Views, watch time, average view duration, retention, traffic by country and device, the
    daily series and the watch-time revenue of a video, over whole UTC days. The owner or a
    moderator."""
    _owned(services, principal, video_id)
    first, last = date_range(start, end)
    return _out(services.analytics.video(video_id, first, last), format)


@router.get("/users/me/analytics", response_model=AnalyticsOut, response_model_by_alias=True, responses=CSV)
def channel_analytics(
    principal: PrincipalDep,
    services: ServicesDep,
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> AnalyticsOut | Response:
    """The signed-in creator's channel: every video's views and watch time together, with the
    subscribers gained and lost (in all and per day), the revenue (watch time, memberships,
    tips) and the peak viewers of its live streams."""
    first, last = date_range(start, end)
    return _out(services.analytics.channel(principal.user.id, first, last), format)


class Rendering(BaseModel):
    status: Literal["rendering"] = "rendering"
    retry_after: int = Field(description="seconds to wait before asking again")


@router.get(
    "/videos/{video_id}/analytics/chart",
    response_class=Response,
    responses={
        **answers(200, "image/png", description="the chart"),
        202: {
            "description": "the chart is being drawn; ask again after Retry-After seconds",
            "content": {"application/json": {"schema": Rendering.model_json_schema()}},
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
        **problems(403),
    },
)
def video_chart(
    video_id: Id,
    principal: PrincipalDep,
    services: ServicesDep,
    kind: Annotated[Literal["retention", "daily"], Query(description="which chart")] = "retention",
    start: From = None,
    end: To = None,
) -> Response:
    """A PNG of the retention curve or the daily views and watch hours, drawn by a job and cached
    for ``SOCIALFLOW_ANALYTICS_CHART_TTL`` seconds: 202 while it is being drawn."""
    _owned(services, principal, video_id)
    first, last = date_range(start, end)
    png = services.analytics.chart(video_id, kind, first, last)
    if png is None:
        return Response(
            Rendering(retry_after=2).model_dump_json(),
            status_code=202,
            media_type="application/json",
            headers={"Retry-After": "2"},
        )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
