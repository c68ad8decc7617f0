"""Email verification and password reset by mailed links.

``password-reset`` answers 202 with the same body whether or not the address has an account, and
looks the address up only after the response has gone out, so neither its words nor its timing
say which addresses are registered. Outside the embedded default with no SMTP server configured,
the routes that send mail answer 503 ``MAIL_NOT_CONFIGURED``.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from control_plane.accounts.emailtokens import EmailTokens
from control_plane.accounts.errors import MailUnavailable
from control_plane.accounts.passwords import PasswordPolicy
from control_plane.core.mail import Outbox
from control_plane.core.ratelimit import Limit
from control_plane.http.clientip import client_ip
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems

__all__ = ["router", "email_tokens", "EmailTokensDep", "NEW_PASSWORD", "WEAK"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["accounts"])

RESET_PER_IP = Limit("password_reset", 20, 3600.0)
RESET_PER_ADDRESS = Limit("password_reset", 5, 3600.0)
VERIFY_SEND_PER_IP = Limit("verification_mail", 20, 3600.0)
VERIFY_SEND_PER_ACCOUNT = Limit("verification_mail", 5, 3600.0)
#: Spending mailed tokens (verify, confirm reset): a token is 256 random bits, this only bounds load.
LINK_PER_IP = Limit("email_link", 30, 600.0)

#: What a mailed token looks like (URL-safe base64), so anything else is refused before any lookup.
TOKEN = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
#: What the document says of a new password; the rest of the policy (not a common password, not
#: the username, four different characters at least) a schema cannot state: 422 WEAK_PASSWORD.
NEW_PASSWORD: JsonDict = {"minLength": PasswordPolicy.min_length, "maxLength": PasswordPolicy.max_length}
#: The meaning of 422 on a route that takes a new password.
WEAK = {"s422": "Invalid input, or a password the policy refuses (WEAK_PASSWORD)"}
#: The meaning of 403 on a route that spends a mailed token.
SPENT = {"s403": "The link is unknown, used or expired"}


def email_tokens(services: ServicesDep) -> EmailTokens:
    settings = services.settings
    return EmailTokens(
        services.db,
        Outbox(settings, services.jobs.enqueue),
        public_url=settings.effective_public_url,
        verification_ttl=settings.email_verification_ttl,
        reset_ttl=settings.password_reset_ttl,
        audit=services.accounts.audit,
        policy=services.accounts.policy,
    )


EmailTokensDep = Annotated[EmailTokens, Depends(email_tokens)]


def _ip(request: Request, services: ServicesDep) -> str:
    return client_ip(request, services.settings.trusted_proxies)


def _mail_configured(tokens: EmailTokens) -> None:
    if not tokens.outbox.configured:
        raise MailUnavailable("This server cannot send mail: its operator has not configured SMTP.")


class AcceptedOut(BaseModel):
    detail: str


class VerifyEmailIn(BaseModel):
    token: str = TOKEN


class ResetIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class ResetConfirmIn(BaseModel):
    token: str = TOKEN
    new_password: str = Field(min_length=1, max_length=1024, json_schema_extra=NEW_PASSWORD)


@router.post(
    "/auth/verify-email/send", status_code=202, response_model=AcceptedOut, responses=problems(409, 503)
)
def send_verification(
    principal: PrincipalDep, request: Request, services: ServicesDep, tokens: EmailTokensDep
) -> AcceptedOut:
    """Mail the signed-in user a new verification link (older unused ones stop working)."""
    _mail_configured(tokens)
    ip = _ip(request, services)
    services.limiter.hit(VERIFY_SEND_PER_IP, ip)
    services.limiter.hit(VERIFY_SEND_PER_ACCOUNT, f"user:{principal.user.id}")
    tokens.send_verification(principal.user.id, ip=ip)
    return AcceptedOut(detail="A verification link is on its way to your email address.")


@router.post(
    "/auth/verify-email",
    status_code=204,
    response_class=Response,
    responses=problems(403, 429, **SPENT),
)
def verify_email(
    body: VerifyEmailIn, request: Request, services: ServicesDep, tokens: EmailTokensDep
) -> Response:
    """Spend a mailed verification token: the account's email address counts as verified."""
    ip = _ip(request, services)
    services.limiter.hit(LINK_PER_IP, ip)
    tokens.verify_email(body.token, ip=ip)
    return Response(status_code=204)


def _request_reset(tokens: EmailTokens, email: str, ip: str) -> None:
    try:
        tokens.request_reset(email, ip=ip)
    except Exception:  # the 202 has gone out already; nobody is left to tell but the log
        log.exception("password reset mail could not be queued")


@router.post(
    "/auth/password-reset", status_code=202, response_model=AcceptedOut, responses=problems(429, 503)
)
def password_reset(
    body: ResetIn,
    request: Request,
    background: BackgroundTasks,
    services: ServicesDep,
    tokens: EmailTokensDep,
) -> AcceptedOut:
    """Mail a password reset link to the address, if an account has it. The answer is the same
    either way, and comes before the address is even looked up."""
    _mail_configured(tokens)
    ip = _ip(request, services)
    email = body.email.strip().lower()
    services.limiter.hit(RESET_PER_IP, ip)
    services.limiter.hit(RESET_PER_ADDRESS, f"email:{email}")
    background.add_task(_request_reset, tokens, email, ip)
    return AcceptedOut(detail="If an account has this address, a link to reset its password is on its way.")


@router.post(
    "/auth/password-reset/confirm",
    status_code=204,
    response_class=Response,
    responses=problems(403, 422, 429, **SPENT, **WEAK),
)
def confirm_password_reset(
    body: ResetConfirmIn, request: Request, services: ServicesDep, tokens: EmailTokensDep
) -> Response:
    """Spend a mailed reset token and set the new password; every session of the account ends."""
    ip = _ip(request, services)
    services.limiter.hit(LINK_PER_IP, ip)
    tokens.confirm_reset(body.token, body.new_password, ip=ip)
    return Response(status_code=204)
