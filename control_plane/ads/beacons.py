"""Signed beacon tokens: what a tracking URL carries, so that counting needs no lookup.

A token is ``serving.campaign.creative.video.price.expires.signature``: the serving id, the ids of
the campaign, creative and the video that carried the ad, the clearing CPM (minor units), the
expiry (Unix seconds) and a truncated HMAC-SHA256 over all of it *and the event*, so a token made
for ``start`` does not count a ``complete``. Single use is the counters' job (one count per
serving and event).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from control_plane.ads.errors import BeaconInvalid

__all__ = ["Beacon", "BeaconSigner"]

_ID = re.compile(r"^[0-9a-f]{1,32}$")


@dataclass(frozen=True)
class Beacon:
    serving: str
    campaign: str
    creative: str
    video: str
    price: int
    expires: int


class BeaconSigner:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"socialflow-ads-beacon\0" + secret).digest()

    def _mac(self, event: str, body: str) -> str:
        digest = hmac.new(self._key, f"{event}\0{body}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, event: str, beacon: Beacon) -> str:
        body = ".".join(
            (
                beacon.serving,
                beacon.campaign,
                beacon.creative,
                beacon.video,
                str(beacon.price),
                str(beacon.expires),
            )
        )
        return f"{body}.{self._mac(event, body)}"

    def verify(self, event: str, token: str, *, now: float | None = None) -> Beacon:
        """The beacon if ``token`` was signed for ``event`` and has not expired; ``BeaconInvalid``
        (403) otherwise."""
        parts = token.split(".")
        if len(parts) != 7:
            raise BeaconInvalid()
        body, mac = ".".join(parts[:6]), parts[6]
        if not hmac.compare_digest(mac, self._mac(event, body)):
            raise BeaconInvalid()
        serving, campaign, creative, video, price, expires = parts[:6]
        if not all(_ID.match(v) for v in (serving, campaign, creative, video)):
            raise BeaconInvalid()
        if int(expires) < (time.time() if now is None else now):
            raise BeaconInvalid("This tracking link has expired.", code="AD_BEACON_EXPIRED")
        return Beacon(serving, campaign, creative, video, int(price), int(expires))
