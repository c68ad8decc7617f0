"""Reports (any signed-in user), the moderators' queue and decisions, and appeals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, BaseModel, Field

from control_plane.core.ratelimit import Limit
from control_plane.http.deps import Principal, PrincipalDep, ServicesDep, require_role
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.moderation.models import Appeal, Case
from control_plane.moderation.subjects import Reason, SubjectType
from control_plane.social.audience import Viewer

router = APIRouter(prefix="/api/v1", tags=["moderation"])

Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]
ModeratorDep = Annotated[Principal, Depends(require_role("moderator"))]
REPORTS_PER_USER = Limit("report", 60, 3600.0, message="At most 60 reports an hour; try again in {retry} s.")


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]


class ReportIn(BaseModel):
    subject_type: SubjectType
    subject_id: str = Field(pattern="^[0-9a-f]{32}$")
    reason: Literal[
        "spam",
        "harassment",
        "hate",
        "violence",
        "sexual",
        "child_safety",
        "self_harm",
        "misinformation",
        "copyright",
        "impersonation",
        "other",
    ]
    note: Text | None = Field(None, max_length=1000)


class ReportOut(BaseModel):
    id: str
    case_id: str
    subject_type: str
    subject_id: str
    reason: str
    created_at: datetime


class CaseOut(BaseModel):
    id: str
    subject_type: str
    subject_id: str
    owner_id: str
    status: str
    source: str = Field(description="reports, or screening (the automated pre-screening)")
    held: bool = Field(description="the subject is held (blocked) until a decision")
    severity: float = Field(description="reason weight × reporter trust × reach × distinct reporters")
    reporters: int
    reason: Reason
    action: str | None
    detail: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None


class ResolveIn(BaseModel):
    action: Literal["dismiss", "remove", "restrict", "suspend"]
    restriction: Literal["age", "demonetize"] | None = Field(None, description="for restrict (videos)")
    days: int | None = Field(None, ge=1, le=3650, description="for suspend: its length (none: permanent)")
    note: Text | None = Field(None, max_length=2000, description="the reason the owner is told")


class AppealIn(BaseModel):
    case_id: str = Field(pattern="^[0-9a-f]{32}$", description="the decision's case (in its notification)")
    text: Text = Field(min_length=1, max_length=4000)


class AppealOut(BaseModel):
    id: str
    case_id: str
    user_id: str
    text: str
    status: str = Field(description="open, upheld or reversed")
    created_at: datetime
    resolved_at: datetime | None


class DecideIn(BaseModel):
    decision: Literal["uphold", "reverse"]


def _viewer(principal: Principal) -> Viewer:
    return Viewer(principal.user.id, moderator=principal.has_role("moderator"))


def _case(case: Case) -> CaseOut:
    return CaseOut.model_validate(case, from_attributes=True)


def _appeal(appeal: Appeal) -> AppealOut:
    return AppealOut.model_validate(appeal, from_attributes=True)


@router.post("/reports", status_code=201, response_model=ReportOut, responses=problems(404, 409, 429))
def report(body: ReportIn, principal: PrincipalDep, services: ServicesDep) -> ReportOut:
    """Report a video, post, comment, user or live stream to the moderators. 404 for what you
    cannot see, 409 for your own content or a second report of the same open case."""
    services.limiter.hit(REPORTS_PER_USER, principal.user.id)
    filed, case = services.moderation.report(
        _viewer(principal), body.subject_type, body.subject_id, body.reason, body.note
    )
    return ReportOut(
        id=filed.id,
        case_id=case.id,
        subject_type=case.subject_type,
        subject_id=case.subject_id,
        reason=filed.reason,
        created_at=filed.created_at,
    )


@router.get("/moderation/queue", response_model=Page[CaseOut])
def queue(principal: ModeratorDep, services: ServicesDep, page: PageDep) -> Page[CaseOut]:
    """Open cases, highest severity first. Moderators only."""
    cases, cursor = services.moderation.queue(page)
    return Page(items=[_case(c) for c in cases], next_cursor=cursor)


@router.post("/moderation/reports/{report_id}/resolve", response_model=CaseOut, responses=problems(409))
def resolve(report_id: Id, body: ResolveIn, principal: ModeratorDep, services: ServicesDep) -> CaseOut:
    """Decide a case (by its id or the id of one of its reports): dismiss; remove the content;
    restrict a video (``age``-restrict or ``demonetize``); suspend the owner for ``days`` (or for
    good). Written to the audit log; the owner is told the reason and how to appeal."""
    case = services.moderation.resolve(
        _viewer(principal),
        report_id,
        body.action,
        restriction=body.restriction,
        days=body.days,
        note=body.note,
    )
    return _case(case)


@router.post("/moderation/appeals", status_code=201, response_model=AppealOut, responses=problems(404, 409))
def appeal(body: AppealIn, principal: PrincipalDep, services: ServicesDep) -> AppealOut:
    """Appeal a decision against your content or account (a suspended account may too)."""
    return _appeal(services.moderation.appeal(principal.user.id, body.case_id, body.text))


@router.get("/moderation/appeals", response_model=Page[AppealOut])
def appeals(principal: PrincipalDep, services: ServicesDep, page: PageDep) -> Page[AppealOut]:
    """Moderators: the open appeals, oldest first. Anyone else: their own appeals."""
    items, cursor = services.moderation.appeals(_viewer(principal), page)
    return Page(items=[_appeal(a) for a in items], next_cursor=cursor)


@router.post("/moderation/appeals/{appeal_id}/decide", response_model=AppealOut, responses=problems(409))
def decide(appeal_id: Id, body: DecideIn, principal: ModeratorDep, services: ServicesDep) -> AppealOut:
    """Uphold a decision, or reverse it (a restriction lifted, a suspension ended)."""
    return _appeal(services.moderation.decide(_viewer(principal), appeal_id, body.decision))
