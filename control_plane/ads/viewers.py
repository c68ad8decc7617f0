"""Who is watching, as far as ads care: the device class from the User-Agent, the country from a
MaxMind-format database, and a stable key for an anonymous viewer.

The device parser is a handful of patterns, not a full User-Agent database: targeting needs four
classes (``mobile``, ``tablet``, ``tv``, ``desktop``), and a decision must stay well under a
millisecond. The country comes from the platform's one lookup, ``control_plane.core.geo``
(``SOCIALFLOW_GEOIP_DB``), which geofencing and analytics use too.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from typing import Literal

__all__ = ["DEVICES", "Device", "device_of", "anonymous_key"]

log = logging.getLogger(__name__)

Device = Literal["mobile", "tablet", "tv", "desktop"]
DEVICES: tuple[str, ...] = ("mobile", "tablet", "tv", "desktop")

_TV = re.compile(
    r"smart-?tv|smarttv|googletv|appletv|apple tv|crkey|roku|tizen|web0?s|hbbtv|bravia|aftb|aftt|aftm|"
    r"aftss|firetv|netcast|viera|philipstv|playstation|xbox|nintendo|\btv\b",
    re.IGNORECASE,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|sm-t\d|nexus (7|9|10)\b", re.IGNORECASE)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.+mobile|windows phone|blackberry|opera mini", re.IGNORECASE)
_ANDROID = re.compile(r"android", re.IGNORECASE)


@lru_cache(maxsize=4096)
def device_of(user_agent: str) -> Device:
    """The device class of a User-Agent string; ``desktop`` when nothing else fits.

    Android without ``Mobile`` is a tablet (Google's own rule for its browsers); a smart TV or
    console wins over everything, since their strings often also name a desktop browser.
    """
    ua = user_agent[:512]
    if _TV.search(ua):
        return "tv"
    if _TABLET.search(ua):
        return "tablet"
    if _MOBILE.search(ua):
        return "mobile"
    if _ANDROID.search(ua):
        return "tablet"
    return "desktop"


def anonymous_key(address: str, user_agent: str) -> str:
    """A stable, non-reversible key of a signed-out viewer (address and User-Agent): frequency caps
    and "never the same ad twice in a row" hold per key."""
    digest = hashlib.blake2b(f"{address}\n{user_agent[:512]}".encode(), digest_size=12).hexdigest()
    return f"a:{digest}"
