"""The audience of a request, as geofencing and age limits see it: the signed-in user (or none),
whether they moderate, their country (from the client address, ``control_plane.core.geo``) and
whether they are a known adult (from the birth date given at sign-up)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from control_plane.http.clientip import client_ip
from control_plane.http.deps import ServicesDep, ViewerDep
from control_plane.moderation.access import Audience

__all__ = ["AudienceDep", "audience_of"]


def audience_of(request: Request, principal: ViewerDep, services: ServicesDep) -> Audience:
    country = services.geo.country(client_ip(request, services.settings.trusted_proxies))
    if principal is None:
        return Audience(None, country=country)
    return Audience.of(
        principal.user.id,
        moderator=principal.has_role("moderator"),
        country=country,
        birth_date=principal.user.birth_date,
    )


AudienceDep = Annotated[Audience, Depends(audience_of)]
