"""ICE servers for WebRTC: the configured STUN servers, and TURN servers with short-lived
credentials minted per peer or per client.

TURN servers run with time-limited credentials (the "TURN REST API" scheme that coturn implements
as ``use-auth-secret``): the username is ``<expiry unix time>:<subject>`` and the password is the
base64 HMAC-SHA1 of the username under the secret both sides share. Nothing is stored; a
credential that leaks stops working when it expires, and the secret itself never leaves the
server. Clients learn the servers from the ``Link`` headers of WHIP and WHEP answers (RFC 9725).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable

from control_plane.core.settings import Settings
from pipelines.webrtc import IceServer

__all__ = ["IceConfig", "turn_credential"]


def turn_credential(secret: str, subject: str, ttl: int, now: float) -> tuple[str, str]:
    """(username, password) valid for ``ttl`` seconds from ``now`` (unix seconds) at a TURN
    server sharing ``secret``; ``subject`` names who it was given to, for the server's logs."""
    username = f"{int(now) + ttl}:{subject}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


_SUBJECT = re.compile(r"[^A-Za-z0-9._-]")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class IceConfig:
    """The ICE servers of the settings, with TURN credentials minted on each call."""

    def __init__(
        self, urls: list[str], turn_secret: str | None, ttl: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.urls = list(urls)
        self.turn_secret = turn_secret
        self.ttl = ttl
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> IceConfig:
        return cls(settings.webrtc_ice_servers, settings.webrtc_turn_secret, settings.webrtc_turn_ttl)

    def servers(self, subject: str = "socialflow") -> tuple[IceServer, ...]:
        """Every configured server; TURN ones with a fresh credential for ``subject`` (reduced to
        64 letters, digits, ``.``, ``_`` and ``-``: it comes from request paths)."""
        subject = _SUBJECT.sub("", subject)[:64] or "socialflow"
        out = []
        for url in self.urls:
            if url.startswith(("turn:", "turns:")) and self.turn_secret:
                username, password = turn_credential(self.turn_secret, subject, self.ttl, self.clock())
                out.append(IceServer(url, username, password))
            else:
                out.append(IceServer(url))
        return tuple(out)

    def link_header(self, subject: str) -> dict[str, str]:
        """A ``Link`` header listing the servers for a WHIP/WHEP client (RFC 9725, section 4.6),
        or no header when none is configured."""
        links = []
        for server in self.servers(subject):
            link = f'<{server.url}>; rel="ice-server"'
            if server.username is not None and server.credential is not None:
                link += (
                    f"; username={_quoted(server.username)}; credential={_quoted(server.credential)}"
                    '; credential-type="password"'
                )
            links.append(link)
        return {"Link": ", ".join(links)} if links else {}
