"""Social login: provider list, authorize, callback, ticket redemption, linked identities.

``GET /api/v1/auth/oidc/{provider}/authorize`` answers 302 to the provider (``mode=json``: the URL
in JSON, for a page that navigates itself). It sets a short-lived HttpOnly cookie that binds the
sign-in to this browser: the callback must come back with it. The callback answers what login
answers (a token pair); a user with two-factor sign-in gets 401 ``OIDC_SECOND_FACTOR_REQUIRED``
with a ``ticket`` to redeem with a code at ``POST /api/v1/auth/oidc/token``. A client that passed
an allowed ``redirect_to`` is sent there with ``#ticket=...`` (or ``#error=CODE``) and redeems the
ticket the same way, so tokens never travel in a URL.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from control_plane.accounts.oidc import Completion, OidcService
from control_plane.accounts.oidc.providers import NAME_RE
from control_plane.accounts.oidc.service import STATE_TTL, TICKET_TTL
from control_plane.accounts.routes.accounts import TokenOut, token_out
from control_plane.core.errors import BadRequest
from control_plane.core.ratelimit import Limit
from control_plane.http.clientip import client_ip
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems
from control_plane.http.problems import problem_response

router = APIRouter(prefix="/api/v1", tags=["social login"])

AUTHORIZE_PER_IP = Limit("oidc_authorize", 30, 60.0)
CALLBACK_PER_IP = Limit("oidc_callback", 30, 60.0)
TOKEN_PER_IP = Limit("oidc_token", 30, 60.0)
COOKIE = "sf_oidc"
COOKIE_PATH = "/api/v1/auth/oidc"
_COOKIE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_service_lock = threading.Lock()

ProviderName = Annotated[str, Path(pattern=NAME_RE.pattern, description="a configured provider's name")]


def get_oidc(request: Request, services: ServicesDep) -> OidcService:
    """The app's social-login service, made on first use from the process's services."""
    oidc: OidcService | None = getattr(request.app.state, "oidc", None)
    if oidc is None:
        with _service_lock:
            oidc = getattr(request.app.state, "oidc", None)
            if oidc is None:
                oidc = OidcService(services.settings, services.db, services.kv, services.accounts)
                request.app.state.oidc = oidc
    return oidc


OidcDep = Annotated[OidcService, Depends(get_oidc)]


def _ip(request: Request, services: ServicesDep) -> str:
    return client_ip(request, services.settings.trusted_proxies)


class ProviderOut(BaseModel):
    name: str
    display_name: str


class AuthorizationOut(BaseModel):
    authorization_url: str


class LinkedOut(BaseModel):
    linked: bool = True
    provider: str


class TicketIn(BaseModel):
    ticket: str = Field(min_length=8, max_length=128)
    otp: str | None = Field(None, pattern=r"^[0-9]{6,8}$", description="code from the authenticator app")
    recovery_code: str | None = Field(None, min_length=8, max_length=32)
    refresh_cookie: bool = Field(
        False, description="as for login: the refresh token only as an HttpOnly cookie"
    )


class IdentityOut(BaseModel):
    id: str
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime


@router.get("/auth/oidc/providers", response_model=list[ProviderOut])
def providers(oidc: OidcDep) -> list[ProviderOut]:
    """The social-login providers this platform offers."""
    return [ProviderOut(name=p.name, display_name=p.display_name) for p in oidc.providers()]


def _start(
    request: Request,
    services: ServicesDep,
    oidc: OidcService,
    provider: str,
    *,
    mode: str,
    redirect_to: str | None,
    link_user_id: str | None = None,
) -> Response:
    config = oidc.client(provider).config
    binding = request.cookies.get(COOKIE, "")
    if not _COOKIE_RE.match(binding):
        binding = secrets.token_urlsafe(32)
    url = oidc.begin(provider, binding=binding, redirect_to=redirect_to, link_user_id=link_user_id)
    response: Response = (
        JSONResponse(AuthorizationOut(authorization_url=url).model_dump())
        if mode == "json"
        else RedirectResponse(url, status_code=302)
    )
    secure = services.settings.effective_public_url.startswith("https:")
    # Apple posts the callback from its own site: only a SameSite=None cookie comes along.
    cross_site_post = config.response_mode == "form_post" and secure
    response.set_cookie(
        COOKIE,
        binding,
        max_age=STATE_TTL,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite="none" if cross_site_post else "lax",
    )
    return response


@router.get(
    "/auth/oidc/{provider}/authorize",
    response_model=AuthorizationOut,
    responses={302: {"description": "to the provider's sign-in page (mode=redirect)"}, **problems(400, 429)},
)
def authorize(
    provider: ProviderName,
    request: Request,
    services: ServicesDep,
    oidc: OidcDep,
    mode: Literal["redirect", "json"] = "redirect",
    redirect_to: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Start signing in with a provider: 302 to it (or its URL in JSON with ``mode=json``)."""
    services.limiter.hit(AUTHORIZE_PER_IP, _ip(request, services))
    return _start(request, services, oidc, provider, mode=mode, redirect_to=redirect_to)


@router.post("/auth/oidc/{provider}/link", response_model=AuthorizationOut, responses=problems(400, 409))
def link(
    provider: ProviderName,
    principal: PrincipalDep,
    request: Request,
    services: ServicesDep,
    oidc: OidcDep,
    redirect_to: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Link a provider account to the signed-in user: open the returned URL in this browser."""
    services.limiter.hit(AUTHORIZE_PER_IP, _ip(request, services))
    return _start(
        request,
        services,
        oidc,
        provider,
        mode="json",
        redirect_to=redirect_to,
        link_user_id=principal.user.id,
    )


def _finish(
    request: Request, services: ServicesDep, oidc: OidcService, provider: str, fields: dict[str, str]
) -> Any:
    services.limiter.hit(CALLBACK_PER_IP, _ip(request, services))
    form_user: dict[str, Any] | None = None
    if fields.get("user"):
        try:
            parsed = json.loads(fields["user"])
        except (ValueError, RecursionError):
            parsed = None
        form_user = parsed if isinstance(parsed, dict) else None
    done = oidc.complete(
        provider,
        state=fields.get("state"),
        code=fields.get("code"),
        error=fields.get("error"),
        issuer=fields.get("iss"),
        binding=request.cookies.get(COOKIE),
        form_user=form_user,
        ip=_ip(request, services),
        user_agent=request.headers.get("user-agent"),
    )
    return _answer(done, request)


def _answer(done: Completion, request: Request) -> Any:
    if done.redirect_to:
        if done.error:
            fragment = {"error": done.error}
        elif done.linked:
            fragment = {"linked": done.provider}
        else:
            assert done.ticket is not None
            fragment = {"ticket": done.ticket, "second_factor": "required" if done.second_factor else "no"}
        return RedirectResponse(f"{done.redirect_to}#{urlencode(fragment)}", status_code=302)
    if done.linked:
        return LinkedOut(provider=done.provider)
    if done.second_factor:
        assert done.ticket is not None
        return problem_response(
            401,
            "OIDC_SECOND_FACTOR_REQUIRED",
            "A second factor is required",
            "Send the code from your authenticator app with this ticket to POST /api/v1/auth/oidc/token.",
            instance=request.url.path,
            extra={"ticket": done.ticket, "expires_in": TICKET_TTL},
        )
    assert done.pair is not None
    return TokenOut(
        access_token=done.pair.access_token,
        refresh_token=done.pair.refresh_token,
        expires_in=done.pair.expires_in,
    )


CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "to the app's redirect_to, with #ticket=... or #error=CODE"},
    **problems(
        400, 401, 403, 409, 429, 502, s401="OIDC_SECOND_FACTOR_REQUIRED (with a ticket), or a failed check"
    ),
}


@router.get(
    "/auth/oidc/{provider}/callback", response_model=TokenOut | LinkedOut, responses=CALLBACK_RESPONSES
)
def callback(
    provider: ProviderName,
    request: Request,
    services: ServicesDep,
    oidc: OidcDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    iss: Annotated[str | None, Query(max_length=512, description="the issuer (RFC 9207)")] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
) -> Any:
    """Where the provider sends the browser back: the code and state become our token pair."""
    given = (("code", code), ("state", state), ("error", error), ("iss", iss))
    fields = {k: v for k, v in given if v is not None}
    return _finish(request, services, oidc, provider, fields)


#: The callback form's fields and their longest allowed values (Apple sends ``user``, with the
#: name, on the first sign-in only).
FORM_FIELDS = {"code": 2048, "state": 256, "error": 256, "iss": 512, "user": 4096}


@router.post(
    "/auth/oidc/{provider}/callback",
    response_model=TokenOut | LinkedOut,
    responses=CALLBACK_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {k: {"type": "string", "maxLength": n} for k, n in FORM_FIELDS.items()},
                    }
                }
            }
        }
    },
)
async def callback_form(
    provider: ProviderName, request: Request, services: ServicesDep, oidc: OidcDep
) -> Any:
    """The callback as a form post (``response_mode=form_post``, as Apple sends it)."""
    body = await request.body()
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=16, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The callback form is not valid.", code="OIDC_CALLBACK_INVALID") from exc
    fields: dict[str, str] = {}
    for name, longest in FORM_FIELDS.items():
        values = parsed.get(name)
        if values:
            if len(values[0]) > longest:
                raise BadRequest(f"{name} is too long.", code="OIDC_CALLBACK_INVALID")
            fields[name] = values[0]
    return await run_in_threadpool(_finish, request, services, oidc, provider, fields)


@router.post("/auth/oidc/token", response_model=TokenOut, responses=problems(401, 429))
def redeem(
    body: TicketIn, request: Request, response: Response, services: ServicesDep, oidc: OidcDep
) -> TokenOut:
    """Turn a callback's ticket into a token pair (with the second factor, if the user has one)."""
    services.limiter.hit(TOKEN_PER_IP, _ip(request, services))
    pair = oidc.redeem(
        body.ticket,
        otp=body.otp,
        recovery_code=body.recovery_code,
        ip=_ip(request, services),
        user_agent=request.headers.get("user-agent"),
    )
    return token_out(pair, response, services.settings, cookie=body.refresh_cookie)


@router.get("/users/me/identities", response_model=list[IdentityOut])
def identities(principal: PrincipalDep, oidc: OidcDep) -> list[IdentityOut]:
    """The provider accounts linked to the caller."""
    return [
        IdentityOut(
            id=row.id,
            provider=row.provider,
            email=row.email,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )
        for row in oidc.identities(principal.user.id)
    ]


@router.delete(
    "/users/me/identities/{identity_id}", status_code=204, response_class=Response, responses=problems(409)
)
def unlink(
    identity_id: Annotated[str, Path(max_length=64)],
    principal: PrincipalDep,
    request: Request,
    services: ServicesDep,
    oidc: OidcDep,
) -> Response:
    """Unlink a provider account, unless it is the caller's last way to sign in."""
    oidc.unlink(principal.user.id, identity_id, ip=_ip(request, services))
    return Response(status_code=204)
