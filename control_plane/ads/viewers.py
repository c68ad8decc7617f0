"""Who is watching, as far as ads care: the device class from the User-Agent, the country from a
MaxMind-format database, and a stable key for an anonymous viewer.

The device parser is a handful of patterns, not a full User-Agent database: targeting needs four
classes (``mobile``, ``tablet``, ``tv``, ``desktop``), and a decision must stay well under a
millisecond. The country database is the one ``SOCIALFLOW_ADS_GEOIP_DB`` names (GeoLite2 or
GeoIP2 Country or City, or any MMDB with ``country.iso_code``); without one, the GeoLite2 City
database shipped by the ``maxminddb-geolite2`` package is used where it is installed (it dates
from 2018: operators who target by country should configure a current one).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

__all__ = ["DEVICES", "Device", "GeoLookup", "device_of", "anonymous_key", "packaged_geoip_db"]

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


def packaged_geoip_db() -> Path | None:
    """The GeoLite2 database the ``maxminddb-geolite2`` package ships, if it is installed."""
    try:
        from _maxminddb_geolite2 import geolite2_database
    except ImportError:
        return None
    path = Path(geolite2_database())
    return path if path.is_file() else None


class GeoLookup:
    """Country of an IP address from a MaxMind DB file; None for a private, loopback or unknown
    address, or when there is no database at all."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._reader: Any = None
        self._lock = threading.Lock()
        self.country = lru_cache(maxsize=65536)(self._country)

    def _open(self) -> Any:
        """The reader, opened at the first lookup (most processes never need it)."""
        with self._lock:
            if self._reader is None and self.path is not None:
                import maxminddb

                self._reader = maxminddb.open_database(str(self.path))
                log.info("ads geoip database", extra={"path": str(self.path)})
            return self._reader

    def _country(self, address: str) -> str | None:
        if self.path is None:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if not ip.is_global:
            return None
        record = self._open().get(ip)
        if not isinstance(record, dict):
            return None
        for field in ("country", "registered_country"):
            iso = (record.get(field) or {}).get("iso_code")
            if isinstance(iso, str):
                return iso.upper()
        return None

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
