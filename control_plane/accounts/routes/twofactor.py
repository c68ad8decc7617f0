"""Second factors and the sensitive actions that ask for them again (step-up)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from control_plane.accounts.errors import InvalidCredentials
from control_plane.accounts.models import User
from control_plane.accounts.passwords import verify_password
from control_plane.accounts.routes.recovery import NEW_PASSWORD, WEAK
from control_plane.http.clientip import client_ip
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str


class CodeIn(BaseModel):
    code: str = Field(pattern=r"^[0-9]{6,8}$")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="single-use codes, shown once")


class StepUpIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(None, pattern=r"^[0-9]{6,8}$")
    recovery_code: str | None = Field(None, min_length=8, max_length=32)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024, json_schema_extra=NEW_PASSWORD)
    otp: str | None = Field(None, pattern=r"^[0-9]{6,8}$")
    recovery_code: str | None = Field(None, min_length=8, max_length=32)


@router.post("/auth/2fa/totp/setup", response_model=TotpSetupOut, responses=problems(409))
def totp_setup(principal: PrincipalDep, services: ServicesDep) -> TotpSetupOut:
    """Start enrolment: scan the otpauth:// URI, then confirm with a first code."""
    with services.db.session() as session:
        user = session.get(User, principal.user.id)
        assert user is not None
        secret, uri = services.accounts.twofactor.setup(session, user)
    return TotpSetupOut(secret=secret, otpauth_uri=uri)


@router.post("/auth/2fa/totp/enable", response_model=RecoveryCodesOut, responses=problems(401, 409))
def totp_enable(
    body: CodeIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with a first valid code; returns the recovery codes, once."""
    with services.db.session() as session:
        user = session.get(User, principal.user.id)
        assert user is not None
        codes = services.accounts.twofactor.enable(session, user, body.code)
    services.accounts.audit(
        "2fa.enabled", user_id=principal.user.id, ip=client_ip(request, services.settings.trusted_proxies)
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/auth/2fa/totp/disable", status_code=204, response_class=Response)
def totp_disable(
    body: StepUpIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Turn two-factor sign-in off: needs the password and the second factor again."""
    ip = client_ip(request, services.settings.trusted_proxies)
    with services.db.session() as session:
        user = session.get(User, principal.user.id)
        assert user is not None
        if not verify_password(user.password_hash, body.password):
            raise InvalidCredentials("The password is wrong.")
        services.accounts.twofactor.verify(session, user.id, otp=body.otp, recovery_code=body.recovery_code)
        services.accounts.twofactor.disable(session, user.id)
    services.accounts.audit("2fa.disabled", user_id=principal.user.id, ip=ip)
    return Response(status_code=204)


@router.post(
    "/users/me/password", status_code=204, response_class=Response, responses=problems(401, 422, **WEAK)
)
def change_password(
    body: PasswordChangeIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Change the password (current password and, if on, the second factor again); every other
    session ends."""
    services.accounts.change_password(
        principal.user.id,
        body.current_password,
        body.new_password,
        keep_session=principal.claims.session_id,
        otp=body.otp,
        recovery_code=body.recovery_code,
        ip=client_ip(request, services.settings.trusted_proxies),
    )
    return Response(status_code=204)
