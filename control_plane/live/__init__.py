"""Live streaming in the control plane: streams and keys, RTMP authorization against the
database, LL-HLS sinks writing into blob storage, viewer counts.

Wiring in a process that has ``Services``::

    ingest = build_ingest(services)
    rtmp = RtmpThread(settings.host, settings.rtmp_port, ingest).start()
    ...
    rtmp.stop()
"""

from control_plane.live.errors import (
    LivePlaybackNotFound,
    LiveStreamNotFound,
    PlaylistAhead,
    PlaylistNotReady,
)
from control_plane.live.ingest import LIVE_APP, DatabaseAuthorizer, Recording, recording_key
from control_plane.live.keys import key_hash, key_prefix, new_stream_key
from control_plane.live.playlists import PlaylistReader
from control_plane.live.runner import Ingest, RtmpThread, build_ingest
from control_plane.live.service import EventView, StreamService, StreamView
from control_plane.live.sinks import StoreLiveSinks, hls_prefix
from control_plane.live.viewers import ViewerCounter, viewer_id

__all__ = [
    "StreamService",
    "StreamView",
    "EventView",
    "DatabaseAuthorizer",
    "Recording",
    "recording_key",
    "LIVE_APP",
    "StoreLiveSinks",
    "PlaylistReader",
    "hls_prefix",
    "ViewerCounter",
    "viewer_id",
    "Ingest",
    "build_ingest",
    "RtmpThread",
    "new_stream_key",
    "key_hash",
    "key_prefix",
    "LiveStreamNotFound",
    "LivePlaybackNotFound",
    "PlaylistAhead",
    "PlaylistNotReady",
]
