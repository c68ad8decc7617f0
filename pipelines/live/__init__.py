"""Live packaging: an RTMP ``MediaSink`` that records FLV and serves CMAF Low-Latency HLS."""

from pipelines.live.errors import BadPlaylistRequest, LiveError, PlaylistTimeout, UnsupportedLiveCodec
from pipelines.live.packager import LiveSettings, LlHlsPackager
from pipelines.live.playlist import LivePlaylist, part_available, part_position, wait_for_part
from pipelines.live.recording import FlvRecorder
from pipelines.live.sink import LiveSink, LocalLiveSinks, local_writer
from pipelines.live.tee import Tap, TeeSink

__all__ = [
    "LiveSink",
    "LocalLiveSinks",
    "TeeSink",
    "Tap",
    "LiveSettings",
    "LlHlsPackager",
    "LivePlaylist",
    "FlvRecorder",
    "local_writer",
    "wait_for_part",
    "part_available",
    "part_position",
    "LiveError",
    "UnsupportedLiveCodec",
    "BadPlaylistRequest",
    "PlaylistTimeout",
]
