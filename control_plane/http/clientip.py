"""The client's address, believing X-Forwarded-For only from configured trusted proxies.

``SOCIALFLOW_TRUSTED_PROXIES`` alone decides. The HTTP server must not rewrite the peer address
before :func:`client_ip` sees it: uvicorn does so by default for any peer in
``FORWARDED_ALLOW_IPS`` (loopback when unset), so a client on the same host could name any
address it liked. Every entry point starts uvicorn with :func:`proxy_header_options`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from starlette.requests import Request

__all__ = ["client_ip", "client_ip_of", "proxy_header_options"]


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


# Parsing an address costs microseconds and a busy route asks for the same few (its proxies) on
# every request: the answers are kept (bounded).
@lru_cache(maxsize=8192)
def _trusted(address: str, trusted: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(trusted))


def client_ip(request: Request, trusted_proxies: list[str]) -> str:
    """The peer's address, or, when the peer is a trusted proxy, the right-most untrusted address
    of X-Forwarded-For (the left part of that header is whatever the client chose to send)."""
    peer = request.client.host if request.client else "unknown"
    return client_ip_of(peer, request.headers.get("x-forwarded-for", ""), trusted_proxies)


def client_ip_of(peer: str, forwarded_for: str, trusted_proxies: list[str]) -> str:
    """:func:`client_ip` from the peer's address and the X-Forwarded-For header ("" if none)."""
    if not trusted_proxies:
        return peer
    trusted = tuple(trusted_proxies)
    if not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def proxy_header_options(trusted_proxies: list[str]) -> dict[str, Any]:
    """uvicorn's ``Config`` keywords that agree with :func:`client_ip`: proxy headers off when no
    proxy is trusted, else believed from exactly ``trusted_proxies`` (so the scheme a trusted
    proxy forwards, ``X-Forwarded-Proto``, is also seen); ``FORWARDED_ALLOW_IPS`` plays no part."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted_proxies)}
