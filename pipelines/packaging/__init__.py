"""CMAF segmenting and our own HLS and DASH manifest writers."""

from pipelines.packaging.cmaf import Segment, scan_segments, segment_name, write_segments
from pipelines.packaging.codecs import codec_string
from pipelines.packaging.dash import write_mpd
from pipelines.packaging.hls import write_master_playlist, write_media_playlist

__all__ = [
    "Segment",
    "codec_string",
    "scan_segments",
    "segment_name",
    "write_master_playlist",
    "write_media_playlist",
    "write_mpd",
    "write_segments",
]
