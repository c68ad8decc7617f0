"""Every bound the RTMP server enforces, in one table. Times are seconds, sizes bytes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RtmpLimits"]


@dataclass(frozen=True, slots=True)
class RtmpLimits:
    """Server limits; the defaults suit OBS and FFmpeg publishers at up to ~50 Mbit/s.

    - ``max_connections``: concurrent TCP connections; more are closed on accept.
    - ``max_connections_per_address``: concurrent connections from one address (an IPv6 address
      counts as its /64), published or not; more from it are closed on accept.
    - ``max_unauthenticated``: concurrent connections without an accepted ``publish`` (in the
      handshake, or connected but not yet publishing); kept well below ``max_connections`` so
      that connections which never publish cannot take the room of publishers.
    - ``handshake_timeout_s``: C0 to C2 complete.
    - ``publish_timeout_s``: accept to an accepted ``publish`` command.
    - ``idle_timeout_s``: longest wait for the next complete message (and for a send to drain).
    - ``authorize_timeout_s``: longest wait for ``Authorizer.authorize``.
    - ``max_message_size``: largest message (a video frame), checked from the chunk header.
    - ``max_chunk_streams``: chunk stream ids with state per connection.
    - ``max_buffered_bytes``: bytes held in partly received messages per connection.
    - ``write_buffer_bytes``: high-water mark of the per-connection send buffer.
    - ``reconnect_window_s``: how long a dropped publisher's live session waits for it.
    - ``out_chunk_size``: the chunk size the server announces and sends with.
    - ``window_ack_size``: the acknowledgement window asked of the peer.
    """

    max_connections: int = 256
    max_connections_per_address: int = 16
    max_unauthenticated: int = 64
    handshake_timeout_s: float = 5.0
    publish_timeout_s: float = 15.0
    idle_timeout_s: float = 20.0
    authorize_timeout_s: float = 5.0
    max_message_size: int = 8 * 1024 * 1024
    max_chunk_streams: int = 32
    max_buffered_bytes: int = 16 * 1024 * 1024
    write_buffer_bytes: int = 256 * 1024
    reconnect_window_s: float = 10.0
    out_chunk_size: int = 4096
    window_ack_size: int = 2_500_000
