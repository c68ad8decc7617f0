"""The one packaging core for VOD and live: ISO BMFF boxes, the fMP4 track and sample model and
its writers (init segments, fragments), VOD's CMAF segmenting, and our own HLS and DASH
manifest writers."""

from pipelines.packaging.cmaf import Segment, scan_segments, segment_name, write_segments
from pipelines.packaging.codecs import codec_string
from pipelines.packaging.dash import write_mpd
from pipelines.packaging.hls import write_master_playlist, write_media_playlist
from pipelines.packaging.tracks import Sample, Track

__all__ = [
    "Sample",
    "Segment",
    "Track",
    "codec_string",
    "scan_segments",
    "segment_name",
    "write_master_playlist",
    "write_media_playlist",
    "write_mpd",
    "write_segments",
]
