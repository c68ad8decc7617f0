"""Who may open a connection: the server-wide, per-address and unauthenticated caps.

A flood of connections that never publish, from one address or many, must not take the room of
publishers: one address holds at most ``max_connections_per_address`` connections, and at most
``max_unauthenticated`` connections may be without an accepted publish at once, well below
``max_connections``. Refusals are counted by reason and logged at most once a second.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from typing import Literal

from rtmp.limits import RtmpLimits

__all__ = ["Admission", "Refusal", "address_of"]

log = logging.getLogger(__name__)

Refusal = Literal["full", "address", "unauthenticated"]

_LOG_EVERY_S = 1.0


def address_of(peername: object) -> str:
    """The address a connection counts against: the peer's IP, an IPv6 peer's /64 (one subscriber
    holds a whole /64), an IPv4-mapped IPv6 peer's IPv4 address."""
    host = str(peername[0]) if isinstance(peername, tuple) and peername else "unknown"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Admission:
    """Counts connections per address; decides whether one more may be served."""

    def __init__(self, limits: RtmpLimits) -> None:
        self.limits = limits
        self.per_address: Counter[str] = Counter()
        #: Connections refused so far, by reason.
        self.refused: Counter[Refusal] = Counter()
        self._logged_at = float("-inf")
        self._unlogged = 0

    def admit(self, address: str, connections: int, unauthenticated: int) -> Refusal | None:
        """Count a new connection from ``address`` in, given the ``connections`` served now and
        how many of them have no accepted publish; or return why it is refused (not counted)."""
        refusal: Refusal | None = None
        if connections >= self.limits.max_connections:
            refusal = "full"
        elif self.per_address[address] >= self.limits.max_connections_per_address:
            refusal = "address"
        elif unauthenticated >= self.limits.max_unauthenticated:
            refusal = "unauthenticated"
        if refusal is None:
            self.per_address[address] += 1
            return None
        self.refused[refusal] += 1
        self._log(refusal, address, connections, unauthenticated)
        return refusal

    def release(self, address: str) -> None:
        """A connection admitted from ``address`` has ended."""
        self.per_address[address] -= 1
        if self.per_address[address] <= 0:
            del self.per_address[address]

    def _log(self, refusal: Refusal, address: str, connections: int, unauthenticated: int) -> None:
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at < _LOG_EVERY_S:
            return
        log.warning(
            "rtmp: refusing connections (%d since the last line), the latest from %s (%s): "
            "%d connections, %d from that address, %d without a publish",
            self._unlogged,
            address,
            refusal,
            connections,
            self.per_address[address],
            unauthenticated,
        )
        self._logged_at, self._unlogged = now, 0
