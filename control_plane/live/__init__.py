"""The live domain: streams and their keys, the state changes ingests report, the leases that
tell which ingest holds a stream, recordings becoming videos, playback files in storage, viewer
counts, chat, and the API side of WebRTC.

The media itself (the RTMP server thread, the WebRTC node, the LL-HLS sinks) is the process
side's (``workers.live``): it is handed these services, and the plane reaches the WHIP
publishers its own process holds only through ``WhipHost``.
"""

from control_plane.live.cors import PlaybackCorsMiddleware
from control_plane.live.errors import (
    LivePlaybackNotFound,
    LiveStreamNotFound,
    NotLiveYet,
    PlaylistAhead,
    PlaylistNotReady,
)
from control_plane.live.files import content_type, hls_prefix
from control_plane.live.keys import key_hash, key_prefix, new_stream_key
from control_plane.live.leases import LEASE_TTL_S, StreamLeases
from control_plane.live.media import WhipHost
from control_plane.live.playlists import PlaylistReader
from control_plane.live.recordings import (
    MIN_RECORDING_S,
    RECORDINGS_DIR,
    Recording,
    RecordingService,
    recording_args,
    recording_key,
    store_recording,
)
from control_plane.live.service import EventView, StreamService, StreamView
from control_plane.live.signalling import REQUESTS, Reply
from control_plane.live.turn import IceConfig
from control_plane.live.viewers import ViewerCounter, viewer_id

__all__ = [
    "StreamService",
    "StreamView",
    "EventView",
    "StreamLeases",
    "LEASE_TTL_S",
    "Recording",
    "RecordingService",
    "recording_key",
    "recording_args",
    "store_recording",
    "MIN_RECORDING_S",
    "RECORDINGS_DIR",
    "WhipHost",
    "REQUESTS",
    "Reply",
    "IceConfig",
    "PlaylistReader",
    "hls_prefix",
    "content_type",
    "ViewerCounter",
    "viewer_id",
    "new_stream_key",
    "key_hash",
    "key_prefix",
    "LiveStreamNotFound",
    "LivePlaybackNotFound",
    "PlaylistAhead",
    "PlaylistNotReady",
    "NotLiveYet",
    "PlaybackCorsMiddleware",
]
