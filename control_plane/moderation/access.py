"""Who may watch a video beyond its visibility: geofencing and age limits.

A video is hidden from viewers in a country its owner blocked (``blocked_countries``) or that
the platform blocks for every video (``SOCIALFLOW_GEO_BLOCKED_COUNTRIES``), and an age-restricted
video from anonymous viewers and from signed-in ones who are not known adults (no birth date
given counts as not known). Its owner and moderators always see it.

The same rule has two forms: :func:`check_watch` for one video (the API answers 451
``GEO_BLOCKED`` or 403 ``AGE_RESTRICTED``) and :func:`watchable` as an SQL condition over the
``videos`` table, which the catalogue, search, related videos and recommendations add to their
queries so that such a video never reaches the viewer in a list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from control_plane.core.errors import Forbidden, ProblemError
from control_plane.core.geo import UNKNOWN
from control_plane.videos.models import Video, VideoGeoBlock

__all__ = [
    "ADULT_AGE",
    "AgeRestricted",
    "Audience",
    "GeoBlocked",
    "age_on",
    "check_watch",
    "watchable",
]

ADULT_AGE = 18


class GeoBlocked(ProblemError):
    status, code, title = 451, "GEO_BLOCKED", "Not available in your country"


class AgeRestricted(Forbidden):
    code, title = "AGE_RESTRICTED", "Age-restricted video"


def age_on(birth_date: date, today: date) -> int:
    """Full years between ``birth_date`` and ``today``."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Audience:
    """The viewer of a video, as access rules see them: who, from where, and whether adult."""

    user_id: str | None = None
    moderator: bool = False
    country: str = UNKNOWN
    adult: bool = False

    @classmethod
    def of(
        cls,
        user_id: str | None,
        *,
        moderator: bool = False,
        country: str = UNKNOWN,
        birth_date: date | None = None,
        today: date | None = None,
    ) -> Audience:
        adult = birth_date is not None and age_on(birth_date, today or date.today()) >= ADULT_AGE
        return cls(user_id, moderator, country, adult)


def check_watch(
    audience: Audience,
    *,
    owner_id: str,
    age_restricted: bool,
    blocked_countries: Collection[str],
    platform_blocked: Collection[str] = (),
) -> None:
    """Raise ``GeoBlocked`` or ``AgeRestricted`` if the audience may not watch this video."""
    if audience.moderator or audience.user_id == owner_id:
        return
    if audience.country in platform_blocked or audience.country in blocked_countries:
        raise GeoBlocked("This video is not available in your country.")
    if age_restricted and not audience.adult:
        raise AgeRestricted(
            "This video is age-restricted: sign in with an account whose birth date shows you are "
            f"at least {ADULT_AGE}."
        )


def watchable(audience: Audience, platform_blocked: Iterable[str] = ()) -> sa.ColumnElement[bool]:
    """True for the rows of ``videos`` the audience may watch as far as country and age go
    (visibility and status are the caller's)."""
    if audience.moderator:
        return sa.true()
    conditions: list[sa.ColumnElement[bool]] = []
    if audience.country in set(platform_blocked):
        conditions.append(sa.false())
    else:
        conditions.append(
            ~sa.exists().where(VideoGeoBlock.video_id == Video.id, VideoGeoBlock.country == audience.country)
        )
    if not audience.adult:
        conditions.append(Video.age_restricted.is_(False))
    allowed = sa.and_(*conditions)
    if audience.user_id is not None:
        return sa.or_(Video.owner_id == audience.user_id, allowed)
    return allowed
