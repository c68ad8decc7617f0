"""Database tables. The schema itself is created by the Alembic migrations."""

from control_plane.models.accounts import ROLES, AuthSession, RefreshToken, User
from control_plane.models.audit import AuditEvent
from control_plane.models.base import new_id, utcnow
from control_plane.models.contentid import CLAIM_STATES, POLICIES, Claim, Reference
from control_plane.models.emailtokens import EmailToken
from control_plane.models.identities import OidcIdentity
from control_plane.models.jobs import JOB_STATES, Job
from control_plane.models.live import LIVE_EVENTS, LIVE_STATES, LiveEvent, LiveStream
from control_plane.models.twofactor import RecoveryCode, TotpFactor
from control_plane.models.videos import VIDEO_STATES, Upload, Video

__all__ = [
    "RecoveryCode",
    "TotpFactor",
    "AuditEvent",
    "EmailToken",
    "CLAIM_STATES",
    "POLICIES",
    "Claim",
    "Reference",
    "ROLES",
    "JOB_STATES",
    "LIVE_EVENTS",
    "LIVE_STATES",
    "LiveEvent",
    "LiveStream",
    "OidcIdentity",
    "VIDEO_STATES",
    "AuthSession",
    "Job",
    "RefreshToken",
    "Upload",
    "User",
    "Video",
    "new_id",
    "utcnow",
]
