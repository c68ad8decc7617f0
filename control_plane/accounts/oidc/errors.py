"""Errors of social login, each with its stable code and HTTP status."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, Conflict, Forbidden, NotFound, ProblemError, Unauthorized

__all__ = [
    "OidcAccountExists",
    "OidcAccountInactive",
    "OidcDenied",
    "OidcEmailRequired",
    "OidcIdentityNotFound",
    "OidcIdentityTaken",
    "OidcLastSignIn",
    "OidcProviderUnavailable",
    "OidcCodeRejected",
    "OidcRedirectNotAllowed",
    "OidcStateInvalid",
    "OidcTicketInvalid",
    "OidcTokenInvalid",
    "OidcUnknownProvider",
]


class OidcUnknownProvider(NotFound):
    code, title = "OIDC_UNKNOWN_PROVIDER", "No such sign-in provider"


class OidcStateInvalid(BadRequest):
    """The callback's ``state`` is unknown, spent, expired, or was started in another browser."""

    code, title = "OIDC_STATE_INVALID", "Sign-in request not recognised"


class OidcDenied(BadRequest):
    """The provider sent the user back with an error (cancelled, consent refused)."""

    code, title = "OIDC_DENIED", "The provider did not sign you in"


class OidcCodeRejected(BadRequest):
    """The provider refused to exchange the authorization code (spent, expired or not ours)."""

    code, title = "OIDC_CODE_REJECTED", "The provider refused the sign-in code"


class OidcTokenInvalid(Unauthorized):
    """The ID token failed a check: signature, algorithm, issuer, audience, times or nonce."""

    code, title = "OIDC_TOKEN_INVALID", "The provider's ID token is not valid"


class OidcProviderUnavailable(ProblemError):
    status, code, title = 502, "OIDC_PROVIDER_UNAVAILABLE", "The sign-in provider could not be reached"


class OidcRedirectNotAllowed(BadRequest):
    code, title = "OIDC_REDIRECT_NOT_ALLOWED", "That redirect is not allowed"


class OidcEmailRequired(BadRequest):
    code, title = "OIDC_EMAIL_REQUIRED", "The provider gave no email address"


class OidcAccountExists(Conflict):
    """A local account has the email, but one side has not verified it: no silent takeover."""

    code, title = "OIDC_ACCOUNT_EXISTS", "An account with this email already exists"


class OidcIdentityTaken(Conflict):
    code, title = "OIDC_IDENTITY_TAKEN", "That provider account is linked to another user"


class OidcAccountInactive(Forbidden):
    code, title = "ACCOUNT_INACTIVE", "This account is disabled"


class OidcTicketInvalid(Unauthorized):
    code, title = "OIDC_TICKET_INVALID", "Sign-in ticket not valid"


class OidcIdentityNotFound(NotFound):
    code, title = "OIDC_IDENTITY_NOT_FOUND", "No such linked identity"


class OidcLastSignIn(Conflict):
    code, title = "OIDC_LAST_SIGN_IN", "That is your last way to sign in"
