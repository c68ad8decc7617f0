"""Live packaging: a ``pipelines.sinks.MediaSink`` that records FLV and serves CMAF Low-Latency HLS."""

from pipelines.live.errors import BadPlaylistRequest, LiveError, PlaylistTimeout, UnsupportedLiveCodec
from pipelines.live.feed import FrameFeed
from pipelines.live.ladder import LiveRung, live_rungs
from pipelines.live.master import MasterPlaylist
from pipelines.live.packager import LiveSettings, LlHlsPackager
from pipelines.live.playlist import (
    LivePlaylist,
    Variant,
    media_playlist_of,
    next_part,
    part_available,
    part_position,
    render_multivariant,
    wait_for_next_part,
    wait_for_part,
)
from pipelines.live.recording import FlvRecorder, seal_recording
from pipelines.live.sink import LiveSink, LocalLiveSinks, local_writer
from pipelines.live.tee import Tap, TeeSink
from pipelines.live.transcoder import LiveLadder

__all__ = [
    "LiveSink",
    "LocalLiveSinks",
    "TeeSink",
    "Tap",
    "LiveSettings",
    "LlHlsPackager",
    "LivePlaylist",
    "LiveLadder",
    "LiveRung",
    "live_rungs",
    "FrameFeed",
    "MasterPlaylist",
    "Variant",
    "render_multivariant",
    "media_playlist_of",
    "FlvRecorder",
    "seal_recording",
    "local_writer",
    "wait_for_part",
    "wait_for_next_part",
    "next_part",
    "part_available",
    "part_position",
    "LiveError",
    "UnsupportedLiveCodec",
    "BadPlaylistRequest",
    "PlaylistTimeout",
]
