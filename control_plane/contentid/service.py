"""References, claims and their review: who may do what, and what a claim does to a video.

A ``block`` claim that is active, disputed or upheld keeps its video ``blocked``; once no such
claim remains, the video returns to ``ready`` (if it was transcoded). ``monetize`` claims route the
video's revenue share to the reference owner when payments land; ``track`` claims only record.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.contentid.events import ClaimDisputed, ClaimMade, ClaimResolved
from control_plane.contentid.keys import fingerprint_key
from control_plane.contentid.models import POLICIES, Claim, Reference
from control_plane.core.db import Database, new_id
from control_plane.core.errors import BadRequest, Conflict, Forbidden, NotFound
from control_plane.core.events import Event, EventHub
from control_plane.core.leftovers import Leftovers
from control_plane.jobs import EnqueueFailed
from control_plane.videos import Hold, VideoService
from control_plane.videos.models import Video

__all__ = ["ClaimMatch", "ClaimService", "claim_hold", "BLOCKING_STATES", "CLAIM_MIN_SECONDS"]

log = logging.getLogger(__name__)

BLOCKING_STATES = ("active", "disputed", "upheld")
#: The platform's claim rule: a match claims a video when, clipped to both files, it is longer
#: than this (seconds). ``fingerprint.CLAIM_MIN_SECONDS`` is the matcher library's same default.
CLAIM_MIN_SECONDS = 7.0


class ClaimMatch(Protocol):
    """One identification of a video against a reference (``fingerprint.Match`` fits), in seconds."""

    @property
    def reference_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def query_start(self) -> float: ...
    @property
    def reference_start(self) -> float: ...
    @property
    def duration(self) -> float: ...
    @property
    def score(self) -> float: ...
    def within(self, query_seconds: float | None, reference_seconds: float | None) -> ClaimMatch | None:
        """The match cut to both files' lengths (seconds; ``None``: unknown), or None if nothing is left."""
        ...


def _blocking_claim(video_id: Any) -> sa.Exists:
    return sa.exists().where(
        Claim.video_id == video_id, Claim.policy == "block", Claim.status.in_(BLOCKING_STATES)
    )


#: The hold Content-ID puts on a video (``VideoService`` holds): a blocking claim on it.
claim_hold = Hold(
    applies=_blocking_claim,
    reason="A Content-ID claim with the block policy holds this video; dispute it if you have the rights",
    see="/api/v1/videos/{video_id}/claims",
)


class ClaimService:
    """The only code that changes references and claims, and what a claim does to its video
    (through ``videos``, the video domain's service)."""

    def __init__(
        self,
        db: Database,
        enqueue: Callable[..., object],
        videos: VideoService,
        *,
        events: EventHub | None = None,
    ) -> None:
        self.db = db
        self.enqueue = enqueue
        self.videos = videos
        #: Where claims made, disputed and resolved are announced once committed.
        self.events = events

    def _announce(self, *events: Event) -> None:
        if self.events is not None and events:
            self.events.publish(*events)

    def register(self, user: User, video_id: str, policy: str) -> Reference:
        """Register one of the caller's own ready videos as a reference, and index it."""
        if policy not in POLICIES:
            raise BadRequest(f"policy must be one of {', '.join(POLICIES)}", code="INVALID_POLICY")
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None or video.owner_id != user.id:
                raise NotFound("No such video of yours.", code="VIDEO_NOT_FOUND")
            if video.status != "ready":
                raise Conflict("Only a ready video can become a reference.", code="VIDEO_NOT_READY")
            existing = session.scalar(sa.select(Reference).where(Reference.video_id == video_id))
            if existing is not None and existing.status != "removed":
                raise Conflict("This video is already a reference.", code="REFERENCE_EXISTS")
            if existing is not None:
                existing.policy, existing.status = policy, "indexing"
                reference = existing
            else:
                reference = Reference(video_id=video_id, owner_id=user.id, policy=policy, status="indexing")
                session.add(reference)
            session.flush()
            session.expunge(reference)
        self.enqueue(
            "contentid.reference",
            args={"reference_id": reference.id},
            owner_id=user.id,
            subject=f"reference:{reference.id}",
        )
        return reference

    def references(self, user: User) -> list[Reference]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    sa.select(Reference)
                    .where(Reference.owner_id == user.id, Reference.status != "removed")
                    .order_by(Reference.id)
                )
            )
            session.expunge_all()
            return rows

    def remove(self, user: User, reference_id: int, *, is_admin: bool) -> None:
        """Take a reference out of the index; its claims are released."""
        with self.db.session() as session:
            reference = session.get(Reference, reference_id)
            if (
                reference is None
                or reference.status == "removed"
                or not (reference.owner_id == user.id or is_admin)
            ):
                raise NotFound("No such reference.", code="REFERENCE_NOT_FOUND")
            reference.status = "removed"
            claims = list(session.scalars(sa.select(Claim).where(Claim.reference_id == reference_id)))
            for claim in claims:
                claim.status, claim.resolved_by = "released", user.id
            session.flush()
            for video_id in {c.video_id for c in claims}:
                self.videos.settle(session, video_id)
        self.enqueue(
            "contentid.unreference",
            args={"reference_id": reference_id},
            owner_id=user.id,
            subject=f"reference:{reference_id}",
        )

    def claims_of_video(self, user: User, video_id: str, *, is_moderator: bool) -> list[Claim]:
        """The video's owner and moderators see every claim; a reference owner sees their own."""
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
            query = sa.select(Claim).where(Claim.video_id == video_id).order_by(Claim.created_at)
            if not (is_moderator or video.owner_id == user.id):
                query = query.join(Reference, Reference.id == Claim.reference_id).where(
                    Reference.owner_id == user.id
                )
            rows = list(session.scalars(query))
            if not rows and not (is_moderator or video.owner_id == user.id):
                raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
            session.expunge_all()
            return rows

    def dispute(self, user: User, claim_id: str, reason: str) -> Claim:
        """The uploader disputes an active claim; it goes to the reference owner's review queue."""
        with self.db.session() as session:
            claim = session.get(Claim, claim_id)
            video = session.get(Video, claim.video_id) if claim else None
            if claim is None or video is None or video.owner_id != user.id:
                raise NotFound("No such claim on your videos.", code="CLAIM_NOT_FOUND")
            if claim.status != "active":
                raise Conflict(
                    f"This claim is {claim.status}; only an active claim can be disputed.",
                    code="CLAIM_NOT_DISPUTABLE",
                )
            claim.status, claim.dispute_reason = "disputed", reason
            session.flush()
            reference = session.get(Reference, claim.reference_id)
            disputed = ClaimDisputed(
                claim.id, claim.video_id, video.owner_id, reference.owner_id if reference else ""
            )
            session.expunge(claim)
        self._announce(disputed)
        return claim

    def resolve(self, user: User, claim_id: str, decision: str, *, is_moderator: bool) -> Claim:
        """The reference owner (or a moderator) upholds or releases a disputed claim."""
        if decision not in ("uphold", "release"):
            raise BadRequest("decision must be 'uphold' or 'release'", code="INVALID_DECISION")
        with self.db.session() as session:
            claim = session.get(Claim, claim_id)
            reference = session.get(Reference, claim.reference_id) if claim else None
            if claim is None or reference is None or not (reference.owner_id == user.id or is_moderator):
                raise NotFound("No such claim to review.", code="CLAIM_NOT_FOUND")
            if claim.status != "disputed":
                raise Conflict("Only a disputed claim can be resolved.", code="CLAIM_NOT_DISPUTED")
            if reference.owner_id == user.id and claim.video_id and not is_moderator:
                video = session.get(Video, claim.video_id)
                if video is not None and video.owner_id == user.id:
                    raise Forbidden("You cannot review a dispute on your own video.")
            claim.status = "upheld" if decision == "uphold" else "released"
            claim.resolved_by = user.id
            session.flush()
            video_id = claim.video_id
            owner = session.scalar(sa.select(Video.owner_id).where(Video.id == video_id))
            resolved = ClaimResolved(claim.id, video_id, owner or "", claim.status)
            session.expunge(claim)
            self.videos.settle(session, video_id)
        self._announce(resolved)
        return claim

    def review_queue(self, user: User, *, is_moderator: bool) -> list[Claim]:
        with self.db.session() as session:
            query = sa.select(Claim).where(Claim.status == "disputed").order_by(Claim.updated_at)
            if not is_moderator:
                query = query.join(Reference, Reference.id == Claim.reference_id).where(
                    Reference.owner_id == user.id
                )
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    # -- the matching jobs' side ----------------------------------------------------------

    def record_matches(
        self, video_id: str, found: Sequence[ClaimMatch], *, query_seconds: float | None = None
    ) -> int | None:
        """Claim ``video_id`` for each match against an active reference of another owner, and
        settle the video's status. Each match is first clipped to the video (``query_seconds``,
        or the video's probed duration, whichever is shorter) and to the reference's video, and
        claims only if still longer than :data:`CLAIM_MIN_SECONDS`. Idempotent: a rerun claims
        nothing twice. Returns the number of claims made, or None when the video is gone."""
        made: list[Event] = []
        with self.db.session(exclusive=True) as session:
            video = session.get(Video, video_id, with_for_update=True)
            if video is None:
                return None
            known = [s for s in (query_seconds, video.duration) if s is not None]
            query_bound = min(known) if known else None
            for m in found:
                reference = session.get(Reference, m.reference_id)
                if reference is None or reference.status != "active" or reference.owner_id == video.owner_id:
                    continue  # no claim of an owner against their own video
                referenced = session.get(Video, reference.video_id)
                clipped = m.within(query_bound, referenced.duration if referenced is not None else None)
                if clipped is None or clipped.duration <= CLAIM_MIN_SECONDS:
                    continue
                existing = session.scalar(
                    sa.select(Claim.id).where(Claim.video_id == video_id, Claim.reference_id == reference.id)
                )
                if existing is not None:
                    continue
                claim = Claim(
                    id=new_id(),
                    video_id=video_id,
                    reference_id=reference.id,
                    kind=clipped.kind,
                    query_start=round(clipped.query_start, 3),
                    reference_start=round(clipped.reference_start, 3),
                    duration=round(clipped.duration, 3),
                    score=round(clipped.score, 4),
                    policy=reference.policy,
                    status="active",
                )
                session.add(claim)
                made.append(ClaimMade(claim.id, video_id, video.owner_id, reference.owner_id, claim.policy))
            session.flush()
            self.videos.settle(session, video_id, transcoded=False)
        self._announce(*made)
        return len(made)

    def video_removed(self, session: Session, video: Video, leftovers: Leftovers) -> None:
        """The video's remover (``VideoService.on_remove``): its fingerprint goes, and if it is a
        reference, the reference, its claims on other videos (whose holds are settled again) and,
        after the commit, its entries in the index (the ``contentid.unreference`` job)."""
        leftovers.keys.append(fingerprint_key(video.id))
        reference = session.scalar(sa.select(Reference).where(Reference.video_id == video.id))
        if reference is None:
            return
        claims = sa.select(Claim.video_id).where(Claim.reference_id == reference.id)
        claimed = set(session.scalars(claims.where(Claim.video_id != video.id)))
        session.execute(sa.delete(Claim).where(Claim.reference_id == reference.id))
        session.execute(sa.delete(Reference).where(Reference.id == reference.id))
        session.flush()
        for video_id in claimed:
            self.videos.settle(session, video_id)
        if reference.status != "removed":  # a removed reference left the index when it was removed
            leftovers.then.append(functools.partial(self._unindex, reference.id))

    def _unindex(self, reference_id: int) -> None:
        try:
            args = {"reference_id": reference_id}
            self.enqueue("contentid.unreference", args=args, subject=f"reference:{reference_id}")
        except EnqueueFailed:
            # Its entries stay in the index, where they match nothing: a match needs the row.
            log.warning("reference %s left in the index: the job queue is down", reference_id)

    def reference_to_index(self, reference_id: int) -> str | None:
        """The video of a reference still to index, or None once it is removed."""
        with self.db.session() as session:
            reference = session.get(Reference, reference_id)
            if reference is None or reference.status == "removed":
                return None
            return reference.video_id

    def indexed(self, reference_id: int) -> bool:
        """The reference's fingerprint is in the index: it claims from now on.

        False when the reference was removed (or its video deleted) while it was being indexed:
        the caller takes the entries it just added out of the index again.
        """
        with self.db.session() as session:
            reference = session.get(Reference, reference_id)
            if reference is None or reference.status == "removed":
                return False
            if reference.status == "indexing":
                reference.status = "active"
            return True
