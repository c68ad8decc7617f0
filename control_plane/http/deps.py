"""FastAPI dependencies: the process's services, the signed-in user and role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from control_plane.accounts import AccessClaims
from control_plane.accounts.errors import AccountSuspended, RoleRequired, TokenInvalid
from control_plane.accounts.models import ROLES, User
from control_plane.core.errors import Unauthorized
from control_plane.core.ratelimit import Limit
from control_plane.http.openapi import declares
from control_plane.services import Services

__all__ = [
    "AdminDep",
    "get_services",
    "Principal",
    "current_principal",
    "optional_principal",
    "require_role",
    "ServicesDep",
    "PrincipalDep",
    "ViewerDep",
    "optional_principal",
]


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the claims of the token they presented."""

    user: User
    claims: AccessClaims

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.user.role) >= ROLES.index(role)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Sign in and send the access token as 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def api_budget(services: Services) -> Limit | None:
    """The per-user request budget of the whole API (``SOCIALFLOW_API_BUDGET_PER_MINUTE``)."""
    per_minute = services.settings.api_budget_per_minute
    if not per_minute:
        return None
    return Limit(
        "api",
        per_minute,
        60.0,
        message=f"Over this account's budget of {per_minute} requests a minute; try again in {{retry}} s.",
    )


#: What a suspended account may still do besides reading: sign out and appeal.
SUSPENDED_MAY = frozenset(
    {
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/logout-all"),
        ("POST", "/api/v1/moderation/appeals"),
    }
)


def refuse_if_suspended(request: Request, user: User) -> None:
    """A suspended account acts no more: anything but a read, sign-out or appeal is refused."""
    until = user.suspended_until
    if until is None or not user.suspended() or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if (request.method, request.url.path) not in SUSPENDED_MAY:
        raise AccountSuspended(
            f"This account is suspended until {until:%Y-%m-%d %H:%M} UTC; "
            "appeal with POST /api/v1/moderation/appeals."
        )


@declares(401, 429, security="required")
def current_principal(request: Request, services: ServicesDep) -> Principal:
    """The signed-in caller; every authenticated request counts against the user's API budget.
    A suspended account's requests other than reads, sign-out and appeals answer 403
    ``ACCOUNT_SUSPENDED``."""
    user, claims = services.accounts.authenticate(bearer_token(request))
    refuse_if_suspended(request, user)
    budget = api_budget(services)
    if budget is not None:
        services.limiter.hit(budget, user.id)
    return Principal(user=user, claims=claims)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


@declares(401, 429, security="optional")
def optional_principal(request: Request, services: ServicesDep) -> Principal | None:
    """The signed-in caller, or None for a request with no ``Authorization`` header at all (a
    header that is there must hold a valid token: 401 otherwise)."""
    if "authorization" not in request.headers:
        return None
    return current_principal(request, services)


#: The caller of a public route: a ``Principal`` when signed in, else None.
ViewerDep = Annotated[Principal | None, Depends(optional_principal)]


def require_role(role: str) -> Callable[[Principal], Principal]:
    """A dependency that admits users whose role is ``role`` or above."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    @declares(403)
    def check(principal: PrincipalDep) -> Principal:
        if not principal.has_role(role):
            raise RoleRequired(f"This needs the {role} role.")
        return principal

    return check


#: Admits admins only.
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
