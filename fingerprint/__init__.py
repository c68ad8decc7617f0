"""Social Flow: fingerprint — Content-ID audio landmarks, frame hashes, indexes and the matcher.

Typical use::

    audio, video = audio_shards(), video_shards()      # or AudioIndex(), VideoIndex()
    ref_fp = fingerprint_file("reference.mp4")
    if ref_fp.peaks is not None:
        audio.add(ref_id, ref_fp.landmarks())
    if ref_fp.frames is not None:
        video.add(ref_id, ref_fp.frames)
    found = claims(Matcher(audio, video).match(fingerprint_file("upload.mp4")))
"""

from .audio import FRAME_SECONDS, Landmarks, Peaks, find_peaks, landmarks
from .decode import AUDIO_RATE, FRAME_RATE, AudioSignal, VideoFrames, decode_audio, sample_frames
from .errors import (
    DuplicateReference,
    FingerprintError,
    IndexCorrupt,
    InvalidFingerprint,
    MediaUnreadable,
    NoFingerprintableStream,
    ReferenceOutOfShard,
)
from .extract import MediaFingerprint, fingerprint_file
from .index import AudioIndex, Hits
from .library import LocalLibrary
from .matcher import SPEED_FACTORS, Matcher
from .matches import CLAIM_MIN_SECONDS, Match, claims, merge
from .shards import ShardedIndex, audio_shards, video_shards
from .video import FrameHashes, hash_frames
from .video_index import FrameHits, VideoIndex

__all__ = [
    "AUDIO_RATE",
    "CLAIM_MIN_SECONDS",
    "FRAME_RATE",
    "FRAME_SECONDS",
    "SPEED_FACTORS",
    "AudioIndex",
    "AudioSignal",
    "DuplicateReference",
    "FingerprintError",
    "FrameHashes",
    "FrameHits",
    "Hits",
    "IndexCorrupt",
    "InvalidFingerprint",
    "Landmarks",
    "LocalLibrary",
    "Match",
    "Matcher",
    "MediaFingerprint",
    "MediaUnreadable",
    "NoFingerprintableStream",
    "Peaks",
    "ReferenceOutOfShard",
    "ShardedIndex",
    "VideoFrames",
    "VideoIndex",
    "audio_shards",
    "claims",
    "decode_audio",
    "find_peaks",
    "fingerprint_file",
    "hash_frames",
    "landmarks",
    "merge",
    "sample_frames",
    "video_shards",
]
