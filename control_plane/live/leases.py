"""Which ingest holds which live stream: a lease per stream in the key-value store.

An ingest that dies cannot report ``idle``. So each ingest (an RTMP process, or an API process
holding WHIP publishers) holds a lease (a key-value entry with a TTL, Redis in production) on each
stream from its ``connected`` to its ``idle`` and refreshes them every third of the TTL; the
periodic ``live.sweep`` job ends the live streams whose lease lapsed
(``StreamService.end_unheld``). A publish is refused while another ingest holds the stream.
"""

from __future__ import annotations

import os
import secrets
import socket

from control_plane.core.kv import KeyValue

__all__ = ["StreamLeases", "LEASE_TTL_S"]

#: Seconds an ingest's hold on a live stream lasts without a refresh.
LEASE_TTL_S = 10.0


class StreamLeases:
    """Which ingest holds which live stream: ``live:held:{stream_id}`` holds the ingest's id and
    expires ``ttl_s`` seconds after its last refresh. Synchronous (key-value calls)."""

    def __init__(self, kv: KeyValue, *, ttl_s: float = LEASE_TTL_S, holder: str | None = None) -> None:
        self.kv = kv
        self.ttl_s = ttl_s
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @staticmethod
    def key(stream_id: str) -> str:
        return f"live:held:{stream_id}"

    def hold(self, stream_id: str) -> bool:
        """Take or refresh the lease; False when it had lapsed (or another ingest holds it)."""
        token = self.holder.encode()
        if self.kv.compare_and_expire(self.key(stream_id), token, self.ttl_s):
            return True
        self.kv.set(self.key(stream_id), token, ttl=self.ttl_s, only_if_absent=True)
        return False

    def release(self, stream_id: str) -> None:
        self.kv.compare_and_delete(self.key(stream_id), self.holder.encode())

    def held(self, stream_id: str) -> bool:
        """Whether any ingest holds the stream now."""
        return self.kv.get(self.key(stream_id)) is not None

    def held_elsewhere(self, stream_id: str) -> bool:
        """Whether another ingest (another process, or a WHIP publisher) holds the stream now."""
        holder = self.kv.get(self.key(stream_id))
        return holder is not None and holder != self.holder.encode()
