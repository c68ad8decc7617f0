"""The moderation domain's service: reports into cases, the severity queue, decisions, appeals.

A case's severity is *reason weight × reporter trust × reach × distinct reporters*: the heaviest
reason reported (``subjects.REASONS``), the mean trust of its reporters (a reporter's share of
past reports that moderators upheld, Laplace-smoothed from ½; moderators and the automated
screening count 1), the reach of the subject (``1 + log10(1 + audience)``) and how many accounts
reported it. It is computed again at each report, so the queue (highest first) stays current.

Decisions act through the owning domain's service, never on its rows: a video is removed by
``VideoService.remove(moderator=True)`` and age-restricted by ``VideoService.moderate``; posts and
comments are deleted by the social services as a moderator, and a post or comment the screening
held is released when the case is dismissed (``Social.holds``; suspending its author keeps it
held, so nothing of a suspended account is told to anyone on its behalf); an account is suspended by
``AccountService.suspend``. Each decision is written to the audit log and published as a
``ModerationAction`` (notifications tell the owner, with the reason and the appeal path); a
release of a held post or comment is published once, as ``ContentReleased``, so what its hold
withdrew (mentions, replies, comments) is told now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts import AccountService
from control_plane.accounts.models import ROLES, User
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Conflict, NotFound
from control_plane.core.events import EventHub
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.moderation.events import AppealDecided, ContentReleased, ModerationAction
from control_plane.moderation.models import Appeal, Case, Report, VideoRestriction
from control_plane.moderation.subjects import REASONS, Subject, reach_factor, subject_of
from control_plane.social import Social
from control_plane.social.audience import Viewer
from control_plane.videos import Hold, VideoService

__all__ = ["ACTIONS", "PERMANENT", "ModerationService", "open_case", "score", "screening_hold"]

log = logging.getLogger(__name__)

ACTIONS = ("dismiss", "remove", "restrict", "suspend")
RESTRICTIONS = ("age", "demonetize")
#: A permanent suspension's end.
PERMANENT = datetime(9999, 12, 31, tzinfo=UTC)
QUEUE = Order("severity", (Case.severity, Case.id))
APPEALS = Order("appeals", (Appeal.created_at, Appeal.id), descending=False)


def screening_hold() -> Hold:
    """Keeps a video the automated screening flagged ``blocked`` until a moderator decides."""

    def applies(video_id: Any) -> sa.ColumnElement[bool]:
        return sa.exists().where(
            Case.subject_type == "video",
            Case.subject_id == video_id,
            Case.status == "open",
            Case.held.is_(True),
        )

    return Hold(applies=applies, reason="held for review by a moderator", see="/api/v1/videos/{video_id}")


class ModerationService:
    def __init__(
        self,
        db: Database,
        events: EventHub,
        accounts: AccountService,
        videos: VideoService,
        social: Social,
    ) -> None:
        self.db = db
        self.events = events
        self.accounts = accounts
        self.videos = videos
        self.social = social

    # -- reports ----------------------------------------------------------------------------

    def report(
        self, reporter: Viewer, subject_type: str, subject_id: str, reason: str, note: str | None
    ) -> tuple[Report, Case]:
        """File ``reporter``'s report, opening the subject's case or joining its open one.

        ``NotFound`` for a subject they cannot see, ``Conflict`` ``CANNOT_REPORT_OWN`` for their
        own, ``ALREADY_REPORTED`` for a second report of one open case."""
        assert reporter.user_id is not None
        with self.db.session(exclusive=True) as session:
            subject = subject_of(session, subject_type, subject_id, reporter)
            if subject.owner_id == reporter.user_id:
                raise Conflict("You cannot report your own content.", code="CANNOT_REPORT_OWN")
            case = open_case(session, subject, reason, source="reports")
            if session.scalar(
                sa.select(Report.id).where(Report.case_id == case.id, Report.reporter_id == reporter.user_id)
            ):
                raise Conflict(
                    "You have reported this already; a moderator will look at it.", code="ALREADY_REPORTED"
                )
            report = Report(case_id=case.id, reporter_id=reporter.user_id, reason=reason, note=note)
            session.add(report)
            session.flush()
            score(session, case, subject)
            session.flush()
            session.expunge_all()
        return report, case

    # -- the queue --------------------------------------------------------------------------

    def queue(self, page: PageParams) -> tuple[list[Case], str | None]:
        """Open cases, highest severity first."""
        with self.db.session() as session:
            query: sa.Select = sa.select(Case, *QUEUE.columns).where(Case.status == "open")
            rows, cursor = keyset_page(session, query, QUEUE, page)
            session.expunge_all()
            return [row[0] for row in rows], cursor

    def case(self, case_or_report_id: str) -> Case:
        """A case by its id, or the case of a report by the report's id."""
        with self.db.session() as session:
            case = session.get(Case, case_or_report_id)
            if case is None:
                report = session.get(Report, case_or_report_id)
                case = session.get(Case, report.case_id) if report is not None else None
            if case is None:
                raise NotFound("No such report.", code="REPORT_NOT_FOUND")
            session.expunge(case)
            return case

    # -- decisions --------------------------------------------------------------------------

    def resolve(
        self,
        moderator: Viewer,
        case_or_report_id: str,
        action: str,
        *,
        restriction: str | None = None,
        days: int | None = None,
        note: str | None = None,
    ) -> Case:
        """Decide an open case. ``restrict`` takes ``restriction`` (``age`` or ``demonetize``,
        videos only); ``suspend`` takes ``days`` (None: permanent) and suspends the subject's
        owner. ``Conflict`` ``CASE_RESOLVED`` when already decided, ``ACTION_NOT_APPLICABLE``
        for an action the subject has no form of."""
        assert moderator.user_id is not None and moderator.moderator
        case = self.case(case_or_report_id)
        if case.status != "open":
            raise Conflict("This case has been decided already.", code="CASE_RESOLVED")
        detail: dict[str, Any] = {}
        until: datetime | None = None
        if action == "remove":
            self._remove(moderator, case)
        elif action == "restrict":
            if case.subject_type != "video" or restriction not in RESTRICTIONS:
                raise Conflict(
                    "Only a video can be restricted, with restriction 'age' or 'demonetize'.",
                    code="ACTION_NOT_APPLICABLE",
                )
            detail["restriction"] = restriction
        elif action == "suspend":
            until = PERMANENT if days is None else utcnow() + timedelta(days=days)
            detail["until"] = until.isoformat()
        elif action != "dismiss":
            raise Conflict(f"Unknown action {action!r}.", code="ACTION_NOT_APPLICABLE")
        released: ContentReleased | None = None
        with self.db.session(exclusive=True) as session:
            row = session.get(Case, case.id, with_for_update=True)
            if row is None or row.status != "open":
                raise Conflict("This case has been decided already.", code="CASE_RESOLVED")
            row.status, row.action, row.note = "resolved", action, note
            row.detail = {**(row.detail or {}), **detail}
            row.resolved_by, row.resolved_at = moderator.user_id, utcnow()
            if action == "restrict" and restriction == "demonetize":
                session.merge(VideoRestriction(video_id=row.subject_id, kind="demonetized", case_id=row.id))
            self.accounts.audit(
                f"moderation.{action}",
                user_id=moderator.user_id,
                session=session,
                case_id=row.id,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                owner_id=row.owner_id,
                reason=row.reason,
                note=(note or "")[:500],
                **detail,
            )
            if row.subject_type == "video" and action != "remove":
                session.flush()
                self.videos.settle(session, row.subject_id)  # expires what the session holds
            elif row.held and action == "dismiss":
                told = self.social.holds.release(session, row.subject_type, row.subject_id)
                if told is not None:
                    released = ContentReleased(row.subject_type, row.subject_id, told)
            session.flush()
            session.refresh(row)
            session.expunge(row)
        if released is not None:
            self.events.publish(released)
        if action == "restrict" and restriction == "age":
            self.videos.moderate(case.subject_id, {"age_restricted": True})
        if action == "suspend":
            self.accounts.suspend(case.owner_id, until, by=moderator.user_id, reason=note or case.reason)
        if action != "dismiss":
            self.events.publish(
                ModerationAction(
                    case_id=row.id,
                    owner_id=row.owner_id,
                    subject_type=row.subject_type,
                    subject_id=row.subject_id,
                    action=action if action != "restrict" else f"restrict:{restriction}",
                    reason=row.reason,
                    note=note,
                    until=until.isoformat() if until else None,
                )
            )
        return row

    def _remove(self, moderator: Viewer, case: Case) -> None:
        if case.subject_type == "video":
            try:
                self.videos.remove(case.subject_id, by=str(moderator.user_id), moderator=True)
            except NotFound:
                log.info("reported video already gone", extra={"video_id": case.subject_id})
        elif case.subject_type == "post":
            try:
                self.social.posts.delete(case.subject_id, moderator)
            except NotFound:
                log.info("reported post already gone", extra={"post_id": case.subject_id})
        elif case.subject_type == "comment":
            try:
                self.social.comments.delete(case.subject_id, moderator)
            except NotFound:
                log.info("reported comment already gone", extra={"comment_id": case.subject_id})
        else:
            raise Conflict(
                f"A {case.subject_type} is not removed: suspend its owner instead.",
                code="ACTION_NOT_APPLICABLE",
            )

    def demonetized(self, video_id: str) -> bool:
        """Whether a moderator took the video's earnings away (payments ask before paying)."""
        with self.db.session() as session:
            return session.get(VideoRestriction, {"video_id": video_id, "kind": "demonetized"}) is not None

    # -- appeals ----------------------------------------------------------------------------

    def appeal(self, user_id: str, case_id: str, text: str) -> Appeal:
        """The owner appeals a decision other than a dismissal, once per case."""
        with self.db.session(exclusive=True) as session:
            case = session.get(Case, case_id)
            if case is None or case.owner_id != user_id:
                raise NotFound("No decision about your content with that id.", code="CASE_NOT_FOUND")
            if case.status != "resolved" or case.action == "dismiss":
                raise Conflict(
                    "Only a decision taken against your content can be appealed.", code="NOTHING_TO_APPEAL"
                )
            if session.scalar(sa.select(Appeal.id).where(Appeal.case_id == case_id)):
                raise Conflict("This decision has been appealed already.", code="APPEAL_EXISTS")
            appeal = Appeal(case_id=case_id, user_id=user_id, text=text)
            session.add(appeal)
            session.flush()
            self.accounts.audit("moderation.appeal", user_id=user_id, session=session, case_id=case_id)
            session.expunge(appeal)
        return appeal

    def appeals(self, viewer: Viewer, page: PageParams) -> tuple[list[Appeal], str | None]:
        """Moderators: the open appeals, oldest first; anyone else: their own."""
        query: sa.Select = sa.select(Appeal, *APPEALS.columns)
        if viewer.moderator:
            query = query.where(Appeal.status == "open")
        else:
            query = query.where(Appeal.user_id == viewer.user_id)
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, APPEALS, page)
            session.expunge_all()
            return [row[0] for row in rows], cursor

    def decide(self, moderator: Viewer, appeal_id: str, decision: str) -> Appeal:
        """``uphold`` keeps the decision; ``reverse`` undoes a restriction or a suspension (a
        removal cannot be undone: ``Conflict`` ``NOT_REVERSIBLE``)."""
        assert moderator.user_id is not None
        with self.db.session(exclusive=True) as session:
            appeal = session.get(Appeal, appeal_id, with_for_update=True)
            if appeal is None:
                raise NotFound("No such appeal.", code="APPEAL_NOT_FOUND")
            if appeal.status != "open":
                raise Conflict("This appeal has been decided already.", code="APPEAL_DECIDED")
            case = session.get(Case, appeal.case_id)
            assert case is not None
            if decision == "reverse" and case.action == "remove":
                raise Conflict(
                    "Removed content is gone; a removal cannot be reversed.", code="NOT_REVERSIBLE"
                )
            appeal.status = "upheld" if decision == "uphold" else "reversed"
            appeal.resolved_by, appeal.resolved_at = moderator.user_id, utcnow()
            self.accounts.audit(
                f"moderation.appeal_{appeal.status}",
                user_id=moderator.user_id,
                session=session,
                appeal_id=appeal.id,
                case_id=case.id,
            )
            if decision == "reverse":
                session.execute(sa.delete(VideoRestriction).where(VideoRestriction.case_id == case.id))
            action, restriction, subject_id, owner_id = (
                case.action,
                (case.detail or {}).get("restriction"),
                case.subject_id,
                case.owner_id,
            )
            session.flush()
            session.expunge_all()
        if decision == "reverse":
            if action == "restrict" and restriction == "age":
                try:
                    self.videos.moderate(subject_id, {"age_restricted": False})
                except NotFound:
                    log.info("restricted video gone before its appeal", extra={"video_id": subject_id})
            elif action == "suspend":
                self.accounts.suspend(owner_id, None, by=moderator.user_id, reason="appeal reversed")
        self.events.publish(AppealDecided(appeal.id, appeal.case_id, owner_id, appeal.status))
        return appeal

    # -- accounts ---------------------------------------------------------------------------


def _trust(session: Session, reporters: Sequence[str | None]) -> list[float]:
    """Each reporter's trust: 1 for the screening and for moderators, else the share of their
    decided reports that were acted on, starting from ½ (Laplace)."""
    people = [r for r in reporters if r is not None]
    roles = (
        dict(session.execute(sa.select(User.id, User.role).where(User.id.in_(people))).all())
        if people
        else {}
    )
    acted = sa.func.sum(sa.case((Case.action != "dismiss", 1), else_=0))
    dismissed = sa.func.sum(sa.case((Case.action == "dismiss", 1), else_=0))
    history = (
        {
            reporter: (int(a or 0), int(d or 0))
            for reporter, a, d in session.execute(
                sa.select(Report.reporter_id, acted, dismissed)
                .join(Case, Case.id == Report.case_id)
                .where(Report.reporter_id.in_(people), Case.status == "resolved")
                .group_by(Report.reporter_id)
            )
        }
        if people
        else {}
    )
    out = []
    for reporter in reporters:
        if reporter is None or ROLES.index(roles.get(reporter, "viewer")) >= ROLES.index("moderator"):
            out.append(1.0)
        else:
            upheld, dismissed_count = history.get(reporter, (0, 0))
            out.append((1 + upheld) / (2 + upheld + dismissed_count))
    return out


def open_case(session: Session, subject: Subject, reason: str, *, source: str) -> Case:
    case = session.scalar(
        sa.select(Case).where(
            Case.subject_type == subject.type, Case.subject_id == subject.id, Case.status == "open"
        )
    )
    if case is None:
        case = Case(
            subject_type=subject.type,
            subject_id=subject.id,
            owner_id=subject.owner_id,
            reason=reason,
            source=source,
            detail={},
        )
        session.add(case)
        session.flush()
    return case


def score(session: Session, case: Case, subject: Subject) -> None:
    """Recompute the case's severity, reason and reporters from its reports."""
    reports = session.execute(
        sa.select(Report.reporter_id, Report.reason).where(Report.case_id == case.id)
    ).all()
    weights = [REASONS.get(reason, REASONS["other"]) for _, reason in reports]
    heaviest = max(reports, key=lambda r: REASONS.get(r[1], 0.0))[1]
    trusts = _trust(session, [reporter for reporter, _ in reports])
    case.reason = heaviest
    case.reporters = len({reporter for reporter, _ in reports})
    case.severity = round(
        max(weights) * (sum(trusts) / len(trusts)) * reach_factor(subject.audience) * case.reporters, 4
    )
