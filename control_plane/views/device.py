"""The device class of a player from its User-Agent: coarse on purpose (analytics show five
classes), and ``bot`` for crawlers and scripts, whose heartbeats are not counted."""

from __future__ import annotations

import functools
import re

__all__ = ["DEVICES", "device_of"]

DEVICES = ("desktop", "mobile", "tablet", "tv", "other")

_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|curl/|wget/|python-requests|python-urllib|go-http-client|"
    r"headlesschrome|phantomjs|scrapy|httpclient|java/",
    re.I,
)
_TV = re.compile(r"smart-?tv|appletv|crkey|roku|tizen|web0s|webos|hbbtv|aftb|aftt|bravia|googletv", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini", re.I)
_DESKTOP = re.compile(r"windows nt|macintosh|mac os x|x11|linux|cros", re.I)


def device_of(user_agent: str) -> str:
    """One of :data:`DEVICES`, or ``bot``."""
    if len(user_agent) > 512:  # a real browser's is far shorter; not worth a cache entry
        return _device_of(user_agent)
    return _cached(user_agent)


def _device_of(user_agent: str) -> str:
    if not user_agent or _BOT.search(user_agent):
        return "bot" if user_agent else "other"
    if _TV.search(user_agent):
        return "tv"
    if _TABLET.search(user_agent) or ("android" in user_agent.lower() and "mobile" not in user_agent.lower()):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "other"


#: Players send a heartbeat every 5 s with the same User-Agent, and a few hundred of them cover
#: nearly every viewer: five regular expressions a heartbeat become one dictionary lookup.
_cached = functools.lru_cache(maxsize=4096)(_device_of)
