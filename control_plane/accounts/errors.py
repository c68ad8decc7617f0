"""Errors of the account layer, each with its wire form."""

from __future__ import annotations

from control_plane.core.errors import Conflict, Forbidden, ServiceUnavailable, Unauthorized, Unprocessable

__all__ = [
    "InvalidCredentials",
    "TokenInvalid",
    "TokenExpired",
    "TokenReused",
    "SessionRevoked",
    "UsernameTaken",
    "EmailTaken",
    "WeakPassword",
    "RoleRequired",
    "AccountSuspended",
    "OtpRequired",
    "InvalidOtp",
    "TotpState",
    "EmailTokenInvalid",
    "EmailTokenExpired",
    "EmailAlreadyVerified",
    "MailUnavailable",
]


class InvalidCredentials(Unauthorized):
    code, title = "INVALID_CREDENTIALS", "Invalid username or password"


class TokenInvalid(Unauthorized):
    code, title = "TOKEN_INVALID", "Invalid token"


class TokenExpired(Unauthorized):
    code, title = "TOKEN_EXPIRED", "Token expired"


class TokenReused(Unauthorized):
    code, title = "TOKEN_REUSED", "Refresh token already used; the session was revoked"


class SessionRevoked(Unauthorized):
    code, title = "SESSION_REVOKED", "Session ended"


class UsernameTaken(Conflict):
    code, title = "USERNAME_TAKEN", "Username taken"


class EmailTaken(Conflict):
    code, title = "EMAIL_TAKEN", "Email already registered"


class WeakPassword(Unprocessable):
    code, title = "WEAK_PASSWORD", "Password too weak"


class RoleRequired(Forbidden):
    code, title = "ROLE_REQUIRED", "Your role does not allow this"


class AccountSuspended(Forbidden):
    """A suspended account may read, sign out and appeal (``POST /api/v1/moderation/appeals``)."""

    code, title = "ACCOUNT_SUSPENDED", "This account is suspended"


class OtpRequired(Unauthorized):
    code, title = "OTP_REQUIRED", "A second factor is required"


class InvalidOtp(Unauthorized):
    code, title = "INVALID_OTP", "Invalid one-time code"


class TotpState(Conflict):
    code, title = "TOTP_STATE", "Two-factor authentication is not in that state"


class EmailTokenInvalid(Forbidden):
    """A mailed token is the credential of its request: an unknown or spent one is refused."""

    code, title = "EMAIL_TOKEN_INVALID", "Invalid or already used link"


class EmailTokenExpired(Forbidden):
    code, title = "EMAIL_TOKEN_EXPIRED", "Link expired"


class EmailAlreadyVerified(Conflict):
    code, title = "EMAIL_ALREADY_VERIFIED", "Email address already verified"


class MailUnavailable(ServiceUnavailable):
    code, title = "MAIL_NOT_CONFIGURED", "Mail is not configured on this server"
