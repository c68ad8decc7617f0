"""Content-ID: references, the claims on a video, disputes and their review."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from control_plane.contentid.models import Claim, Reference
from control_plane.http.deps import Principal, PrincipalDep, ServicesDep, require_role
from control_plane.http.openapi import problems

router = APIRouter(prefix="/api/v1", tags=["contentid"])


class ReferenceIn(BaseModel):
    video_id: str = Field(min_length=1, max_length=32)
    policy: str = Field(pattern="^(track|monetize|block)$")


class ReferenceOut(BaseModel):
    id: int
    video_id: str
    policy: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, r: Reference) -> ReferenceOut:
        return cls(id=r.id, video_id=r.video_id, policy=r.policy, status=r.status, created_at=r.created_at)


class ClaimOut(BaseModel):
    """Times in seconds: where in the video (``query_start``) and in the reference the match is."""

    id: str
    video_id: str
    reference_id: int
    kind: str
    query_start: float
    reference_start: float
    duration: float
    score: float
    policy: str
    status: str
    dispute_reason: str | None

    @classmethod
    def of(cls, c: Claim) -> ClaimOut:
        return cls(
            id=c.id,
            video_id=c.video_id,
            reference_id=c.reference_id,
            kind=c.kind,
            query_start=c.query_start,
            reference_start=c.reference_start,
            duration=c.duration,
            score=c.score,
            policy=c.policy,
            status=c.status,
            dispute_reason=c.dispute_reason,
        )


class DisputeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ResolveIn(BaseModel):
    decision: str = Field(pattern="^(uphold|release)$")


Creator = Depends(require_role("creator"))
#: A reference's id: the database's 32-bit integer key (anything larger names none, and is refused).
ReferenceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/contentid/references",
    status_code=201,
    response_model=ReferenceOut,
    responses=problems(404, 409, s404="No such video of the caller's"),
)
def register(body: ReferenceIn, services: ServicesDep, principal: Principal = Creator) -> ReferenceOut:
    """Register one of your own ready videos as a reference; new uploads are matched against it."""
    return ReferenceOut.of(services.claims.register(principal.user, body.video_id, body.policy))


@router.get("/contentid/references", response_model=list[ReferenceOut])
def list_references(services: ServicesDep, principal: PrincipalDep) -> list[ReferenceOut]:
    return [ReferenceOut.of(r) for r in services.claims.references(principal.user)]


@router.delete("/contentid/references/{reference_id}", status_code=204, response_class=Response)
def remove_reference(reference_id: ReferenceId, services: ServicesDep, principal: PrincipalDep) -> Response:
    services.claims.remove(principal.user, reference_id, is_admin=principal.has_role("admin"))
    return Response(status_code=204)


@router.get("/videos/{video_id}/claims", response_model=list[ClaimOut])
def video_claims(video_id: str, services: ServicesDep, principal: PrincipalDep) -> list[ClaimOut]:
    rows = services.claims.claims_of_video(
        principal.user, video_id, is_moderator=principal.has_role("moderator")
    )
    return [ClaimOut.of(c) for c in rows]


@router.post("/contentid/claims/{claim_id}/dispute", response_model=ClaimOut, responses=problems(409))
def dispute(claim_id: str, body: DisputeIn, services: ServicesDep, principal: PrincipalDep) -> ClaimOut:
    """The uploader disputes a claim on their video."""
    return ClaimOut.of(services.claims.dispute(principal.user, claim_id, body.reason))


@router.post("/contentid/claims/{claim_id}/resolve", response_model=ClaimOut, responses=problems(403, 409))
def resolve(claim_id: str, body: ResolveIn, services: ServicesDep, principal: PrincipalDep) -> ClaimOut:
    """The reference owner, or a moderator, upholds or releases a disputed claim."""
    claim = services.claims.resolve(
        principal.user, claim_id, body.decision, is_moderator=principal.has_role("moderator")
    )
    return ClaimOut.of(claim)


@router.get("/contentid/reviews", response_model=list[ClaimOut])
def review_queue(services: ServicesDep, principal: PrincipalDep) -> list[ClaimOut]:
    """Disputed claims waiting for the caller's decision (all of them, for moderators)."""
    rows = services.claims.review_queue(principal.user, is_moderator=principal.has_role("moderator"))
    return [ClaimOut.of(c) for c in rows]
