"""The ads domain's errors, each with its stable code and HTTP status."""

from __future__ import annotations

from control_plane.core.errors import Conflict, Forbidden, NotFound, Unprocessable

__all__ = [
    "BeaconInvalid",
    "CampaignNotFound",
    "CreativeNotFound",
    "CreativeNotReady",
    "CreativeTooLong",
    "CampaignInvalid",
    "CurrencyNotServed",
    "NotYourVideo",
]


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"

    def __init__(self, detail: str = "No such campaign of yours.") -> None:
        super().__init__(detail)


class CreativeNotFound(NotFound):
    code = "CREATIVE_NOT_FOUND"

    def __init__(self, detail: str = "No such creative.") -> None:
        super().__init__(detail)


class NotYourVideo(NotFound):
    code = "VIDEO_NOT_FOUND"

    def __init__(self, detail: str = "No such video of yours.") -> None:
        super().__init__(detail)


class CreativeNotReady(Conflict):
    code, title = "CREATIVE_NOT_READY", "The video is not ready"


class CreativeTooLong(Unprocessable):
    """A creative's transcoded duration is over the ad format's limit."""

    code, title = "CREATIVE_TOO_LONG", "The video is too long for an ad"


class CampaignInvalid(Unprocessable):
    code, title = "CAMPAIGN_INVALID", "The campaign breaks a rule"


class CurrencyNotServed(Unprocessable):
    code, title = "AD_CURRENCY_NOT_SERVED", "Ads are not sold in that currency"


class BeaconInvalid(Forbidden):
    code, title = "AD_BEACON_INVALID", "Not a valid tracking link"

    def __init__(self, detail: str = "This tracking link is not valid.", *, code: str | None = None) -> None:
        super().__init__(detail, code=code)
