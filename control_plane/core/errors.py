"""The control plane's error tree.

Every error a route can raise knows its wire form: a stable ``code`` and an HTTP ``status``.
Every package's errors share one base, ``storage.errors.SocialFlowError``, and are rendered by
one handler (``control_plane.http.problems``), so routes never build error responses by hand.
"""

from __future__ import annotations

from storage.errors import SocialFlowError

__all__ = [
    "ProblemError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Unprocessable",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
]


class ProblemError(SocialFlowError):
    """Base of the control plane's tree. Subclasses set ``status``, ``code`` and ``title``."""

    title = "Internal server error"


class BadRequest(ProblemError):
    status, code, title = 400, "BAD_REQUEST", "Bad request"


class Unauthorized(ProblemError):
    status, code, title = 401, "UNAUTHORIZED", "Authentication required"

    def __init__(self, detail: str | None = None, *, code: str | None = None):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    status, code, title = 403, "FORBIDDEN", "Not allowed"


class NotFound(ProblemError):
    status, code, title = 404, "NOT_FOUND", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "CONFLICT", "Conflict"


class Unprocessable(ProblemError):
    """Well-formed input that breaks a rule the schema cannot state (a password policy)."""

    status, code, title = 422, "UNPROCESSABLE", "Unprocessable request"


class PayloadTooLarge(ProblemError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class RateLimited(ProblemError):
    status, code, title = 429, "RATE_LIMITED", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"
