"""The fragmented MP4 (CMAF) model shared by VOD and live packaging: a track and its samples.

A ``Track`` is what an init segment says of one track; a ``Sample`` is one access unit of it as
a fragment's ``trun`` carries it. VOD reads both from an encoder's work file
(:mod:`pipelines.packaging.fragments`), live builds them from a publisher's configuration
records and frames (:mod:`pipelines.live.tracks`); both write them with
:mod:`pipelines.packaging.fragment_writer` and :mod:`pipelines.packaging.init_segments`.
Times are in the track's timescale (ticks per second), sizes in bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from pipelines.packaging.boxes import read_children

__all__ = ["Track", "Sample", "NON_SYNC", "KEY_FLAGS", "DELTA_FLAGS", "sample_flags"]

NON_SYNC: Final = 0x00010000
"""``sample_is_non_sync_sample`` in ISO BMFF sample flags."""
KEY_FLAGS: Final = 0x02000000
"""Sample flags of a sync sample that depends on no other (``sample_depends_on`` = 2)."""
DELTA_FLAGS: Final = 0x01010000
"""Sample flags of a non-sync sample that depends on others (``sample_depends_on`` = 1)."""

# Bytes of a sample entry box before its child boxes: the box header, then the fixed fields of
# a VisualSampleEntry (78) or an AudioSampleEntry (28), ISO/IEC 14496-12 section 12.
_VISUAL_FIELDS, _AUDIO_FIELDS = 8 + 78, 8 + 28


@dataclass(frozen=True, slots=True)
class Track:
    """One track of a presentation.

    ``handler`` is ``b"vide"`` or ``b"soun"``; ``timescale`` is ticks per second;
    ``sample_entry`` is the whole sample entry box (``avc1``, ``hvc1``, ``av01``, ``mp4a``, ...)
    with the decoder configuration box inside it; ``codec_string`` is the RFC 6381 ``CODECS``
    value its maker wrote down; ``trex`` the default sample (duration, size, flags) of
    ``mvex/trex``.
    """

    track_id: int
    timescale: int
    handler: bytes
    sample_entry: bytes
    codec_string: str = ""
    trex: tuple[int, int, int] = (0, 0, 0)

    @property
    def kind(self) -> str:
        """``video`` or ``audio``."""
        return "video" if self.handler == b"vide" else "audio"

    @property
    def entry_type(self) -> bytes:
        """The sample entry's four-character type: ``b"avc1"``, ``b"mp4a"``, ..."""
        return self.sample_entry[4:8]

    @property
    def codec_config(self) -> bytes:
        """The decoder configuration box (``avcC``, ``hvcC``, ``av1C``, ``esds``) of the sample
        entry, header included; ``b""`` when the entry has none."""
        fields = _VISUAL_FIELDS if self.kind == "video" else _AUDIO_FIELDS
        children = read_children(self.sample_entry[fields:])
        return self.sample_entry[fields : fields + children[0].size] if children else b""

    @property
    def width(self) -> int:
        """Pixels, from the visual sample entry (0 for audio)."""
        return struct.unpack_from(">H", self.sample_entry, 32)[0] if self.kind == "video" else 0

    @property
    def height(self) -> int:
        """Pixels, from the visual sample entry (0 for audio)."""
        return struct.unpack_from(">H", self.sample_entry, 34)[0] if self.kind == "video" else 0

    @property
    def channels(self) -> int:
        """The audio sample entry's channel count (0 for video)."""
        return struct.unpack_from(">H", self.sample_entry, 24)[0] if self.kind == "audio" else 0


@dataclass(frozen=True, slots=True)
class Sample:
    """One access unit: ``decode_time``, ``duration`` and ``cts_offset`` (presentation minus
    decode time, may be negative) in track ticks; ``flags`` are ISO BMFF sample flags."""

    decode_time: int
    duration: int
    flags: int
    cts_offset: int
    data: bytes

    @property
    def is_sync(self) -> bool:
        return not self.flags & NON_SYNC


def sample_flags(keyframe: bool) -> int:
    """The sample flags of a keyframe (``KEY_FLAGS``) or of any other frame (``DELTA_FLAGS``)."""
    return KEY_FLAGS if keyframe else DELTA_FLAGS
