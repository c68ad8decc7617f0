"""The viewer's country from their address: a MaxMind-format database (``.mmdb``) read offline.

``SOCIALFLOW_GEOIP_DB`` names the database the operator keeps current (GeoLite2 Country or City,
GeoIP2, DB-IP's free MaxMind-format files all fit). Without one, the GeoLite2 City database
shipped in the ``maxminddb-geolite2`` package is used: old (2018) but offline, so countries are
known on a fresh install; operators are told to point the setting at a current file.

Geofencing, traffic by country and the recommendations' cold start all ask :class:`GeoLookup`.
Codes are ISO 3166-1 alpha-2 in upper case; ``UNKNOWN`` (``ZZ``, the user-assigned code CLDR uses
for an unknown region) when the address is private, malformed or not in the database.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["COUNTRY_RE", "GeoLookup", "UNKNOWN", "normalize_country"]

log = logging.getLogger(__name__)

UNKNOWN = "ZZ"
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")


def normalize_country(code: str) -> str:
    """``fr`` → ``FR``; raises ValueError for anything but two letters."""
    if not COUNTRY_RE.match(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code.upper()


def _packaged_database() -> Path | None:
    try:
        import _maxminddb_geolite2
    except ImportError:
        return None
    path = Path(_maxminddb_geolite2.__file__).parent / "GeoLite2-City.mmdb"
    return path if path.exists() else None


class GeoLookup:
    """Country of an IP address. ``database`` is a ``.mmdb`` path; None uses the packaged one,
    and with neither every address is ``UNKNOWN``. Lookups are cached (4096 addresses)."""

    def __init__(self, database: str | Path | None = None) -> None:
        path = Path(database) if database else _packaged_database()
        self.path = path
        self._reader: Any = None
        self._lock = threading.Lock()
        if path is not None:
            import maxminddb

            self._reader = maxminddb.open_database(str(path))
            log.debug("geo database", extra={"path": str(path)})
        self.country = lru_cache(maxsize=4096)(self._country)

    def _country(self, address: str) -> str:
        if self._reader is None:
            return UNKNOWN
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return UNKNOWN
        if not ip.is_global:
            return UNKNOWN
        with self._lock:  # the C reader is thread-safe, the pure-Python fallback is not
            record = self._reader.get(str(ip))
        if not isinstance(record, dict):
            return UNKNOWN
        for field in ("country", "registered_country"):
            code = (record.get(field) or {}).get("iso_code")
            if isinstance(code, str) and COUNTRY_RE.match(code):
                return code.upper()
        return UNKNOWN

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
