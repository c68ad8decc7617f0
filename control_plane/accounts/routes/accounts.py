"""Accounts: register, log in, refresh, log out, who am I."""

from __future__ import annotations

import logging
from datetime import date, datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from control_plane.accounts import TokenPair
from control_plane.accounts.models import username_key
from control_plane.accounts.routes.cookie import clear_refresh_cookie, cookie_token, set_refresh_cookie
from control_plane.accounts.routes.recovery import NEW_PASSWORD, WEAK, EmailTokensDep
from control_plane.accounts.service import EMAIL_RE, USERNAME_RE
from control_plane.core.ratelimit import Limit
from control_plane.core.settings import Settings
from control_plane.http.clientip import client_ip
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems
from control_plane.jobs import EnqueueFailed

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["accounts"])

LOGIN_PER_IP = Limit("login", 60, 60.0)
LOGIN_PER_ACCOUNT = Limit("login_account", 20, 600.0)
REGISTER_PER_IP = Limit("register", 20, 600.0)
REFRESH_PER_IP = Limit("refresh", 120, 60.0)


def _ip(request: Request, services: ServicesDep) -> str:
    return client_ip(request, services.settings.trusted_proxies)


class RegisterIn(BaseModel):
    """The service checks the username and email against the patterns shown (400 otherwise)."""

    username: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": USERNAME_RE.pattern})
    email: str = Field(min_length=3, max_length=254, json_schema_extra={"pattern": EMAIL_RE.pattern})
    password: str = Field(min_length=1, max_length=1024, json_schema_extra=NEW_PASSWORD)
    birth_date: date | None = Field(
        None, description="YYYY-MM-DD; age-restricted videos are shown only to adults who gave it"
    )


class UserOut(BaseModel):
    id: str
    username: str


class MeOut(UserOut):
    email: str
    email_verified: bool
    role: str
    created_at: str
    birth_date: date | None = None
    suspended_until: datetime | None = Field(None, description="set while a moderator's suspension lasts")


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(None, pattern=r"^[0-9]{6,8}$", description="code from the authenticator app")
    recovery_code: str | None = Field(None, min_length=8, max_length=32)
    refresh_cookie: bool = Field(
        False,
        description="browser apps: the refresh token comes only as an HttpOnly cookie scoped to "
        "/api/v1/auth (the body's refresh_token is then empty)",
    )


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="left out: the sf_refresh cookie is used, with an X-Requested-With header",
    )


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


def token_out(pair: TokenPair, response: Response, settings: Settings, *, cookie: bool) -> TokenOut:
    """The answer of a sign-in or refresh; with ``cookie`` the refresh token goes only in the cookie."""
    if not cookie:
        return TokenOut(
            access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
        )
    set_refresh_cookie(response, pair.refresh_token, settings)
    return TokenOut(access_token=pair.access_token, refresh_token="", expires_in=pair.expires_in)


@router.post(
    "/auth/register",
    status_code=201,
    response_model=UserOut,
    responses=problems(400, 409, 422, 429, s400="The username or email does not match its pattern", **WEAK),
)
def register(body: RegisterIn, request: Request, services: ServicesDep, tokens: EmailTokensDep) -> UserOut:
    """Create the account and mail it a verification link (when this server can send mail)."""
    ip = _ip(request, services)
    services.limiter.hit(REGISTER_PER_IP, ip)
    user = services.accounts.register(body.username, body.email, body.password, birth_date=body.birth_date)
    if tokens.outbox.configured:
        try:
            tokens.send_verification(user.id, ip=ip)
        except EnqueueFailed:  # the account exists; the user can ask for the link again
            log.warning("verification mail of new user %s could not be queued", user.id)
    return UserOut(id=user.id, username=user.username)


@router.post("/auth/login", response_model=TokenOut, responses=problems(401, 429))
def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> TokenOut:
    services.limiter.hit(LOGIN_PER_IP, _ip(request, services))
    services.limiter.hit(LOGIN_PER_ACCOUNT, username_key(body.username))
    pair = services.accounts.login(
        body.username,
        body.password,
        user_agent=request.headers.get("user-agent"),
        ip=_ip(request, services),
        otp=body.otp,
        recovery_code=body.recovery_code,
    )
    return token_out(pair, response, services.settings, cookie=body.refresh_cookie)


@router.post("/auth/refresh", response_model=TokenOut, responses=problems(401, 429))
def refresh(body: RefreshIn, request: Request, response: Response, services: ServicesDep) -> TokenOut:
    """A new token pair for a refresh token, sent in the body or (browser apps) as the cookie."""
    services.limiter.hit(REFRESH_PER_IP, _ip(request, services))
    from_cookie = body.refresh_token is None
    token = cookie_token(request) if body.refresh_token is None else body.refresh_token
    pair = services.accounts.refresh(token, ip=_ip(request, services))
    return token_out(pair, response, services.settings, cookie=from_cookie)


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(principal: PrincipalDep, request: Request, services: ServicesDep) -> Response:
    """End this session; its tokens stop working, and the refresh cookie (if any) is cleared."""
    services.accounts.logout(principal.claims, ip=_ip(request, services))
    response = Response(status_code=204)
    clear_refresh_cookie(response, services.settings)
    return response


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    current: bool


@router.get("/auth/sessions", response_model=list[SessionOut])
def sessions(principal: PrincipalDep, services: ServicesDep) -> list[SessionOut]:
    """The caller's open sessions (device and last use), newest first."""
    return [
        SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            user_agent=s.user_agent,
            current=s.id == principal.claims.session_id,
        )
        for s in services.accounts.sessions(principal.user.id)
    ]


@router.delete("/auth/sessions/{session_id}", status_code=204, response_class=Response)
def end_session(
    session_id: str, principal: PrincipalDep, request: Request, services: ServicesDep
) -> Response:
    """End one of the caller's sessions; its tokens stop working at once."""
    services.accounts.end_session(principal.user.id, session_id, ip=_ip(request, services))
    return Response(status_code=204)


@router.post("/auth/logout-all", status_code=204, response_class=Response)
def logout_all(principal: PrincipalDep, request: Request, services: ServicesDep) -> Response:
    """Sign out everywhere: every session of the caller ends, this one included."""
    services.accounts.end_all_sessions(principal.user.id, ip=_ip(request, services))
    return Response(status_code=204)


@router.get("/users/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    user = principal.user
    return MeOut(
        id=user.id,
        username=user.username,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        role=user.role,
        created_at=user.created_at.isoformat(),
        birth_date=user.birth_date,
        suspended_until=user.suspended_until,
    )
