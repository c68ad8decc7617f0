"""FLV and Enhanced RTMP tag bodies parsed into frames."""

from __future__ import annotations

import pytest

from pipelines.frames import AudioFrame, VideoFrame
from rtmp.errors import ProtocolError
from rtmp.tags import parse_audio, parse_video


def test_legacy_avc_sequence_header_and_nalu_with_composition_time() -> None:
    config = VideoFrame(0, 0, True, "h264", b"\x01\x64", True)
    assert parse_video(b"\x17\x00\x00\x00\x00\x01\x64", 0) == config
    assert parse_video(b"\x27\x01\x00\x00\x50NALU", 120) == VideoFrame(120, 80, False, "h264", b"NALU", False)
    assert parse_video(b"\x27\x01\xff\xff\xd8NALU", 120).cts_ms == -40  # type: ignore[union-attr]


def test_enhanced_hevc_and_av1() -> None:
    seq = bytes([0x80 | 0x10 | 0]) + b"hvc1" + b"\x01cfg"
    assert parse_video(seq, 0) == VideoFrame(0, 0, True, "hevc", b"\x01cfg", True)
    coded = bytes([0x80 | 0x20 | 1]) + b"hvc1" + b"\x00\x00\x28" + b"data"
    assert parse_video(coded, 40) == VideoFrame(40, 40, False, "hevc", b"data", False)
    coded_x = bytes([0x80 | 0x10 | 3]) + b"hvc1" + b"data"
    assert parse_video(coded_x, 80) == VideoFrame(80, 0, True, "hevc", b"data", False)
    av1 = bytes([0x80 | 0x10 | 1]) + b"av01" + b"\x12\x00obu"
    assert parse_video(av1, 0) == VideoFrame(0, 0, True, "av1", b"\x12\x00obu", False)


def test_unsupported_video_is_ignored() -> None:
    assert parse_video(b"\x12\x00", 0) is None  # Sorenson H.263
    assert parse_video(b"\x57\x00\x00\x00\x00", 0) is None  # command frame
    assert parse_video(b"\x17\x02\x00\x00\x00", 0) is None  # end of sequence
    assert parse_video(bytes([0x90 | 1]) + b"vp09" + b"\x00\x00\x00x", 0) is None
    assert parse_video(bytes([0x90 | 6]) + b"avc1" + b"\x00", 0) is None  # multitrack


def test_aac_and_enhanced_audio() -> None:
    assert parse_audio(b"\xaf\x00\x12\x10", 0) == AudioFrame(0, "aac", b"\x12\x10", True)
    assert parse_audio(b"\xaf\x01raw", 23) == AudioFrame(23, "aac", b"raw", False)
    assert parse_audio(b"\x90mp4a\x11\x90", 0) == AudioFrame(0, "aac", b"\x11\x90", True)
    assert parse_audio(b"\x91mp4araw", 5) == AudioFrame(5, "aac", b"raw", False)
    assert parse_audio(b"\x2f\xff\xfb", 0) is None  # MP3
    assert parse_audio(b"\x91Opusraw", 0) is None


@pytest.mark.parametrize("payload", [b"", b"\x17\x01\x00", b"\x80hv", b"\xa0\x01\x00\x00", b"\x17"])
def test_truncated_video_raises(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_video(payload, 0)


@pytest.mark.parametrize("payload", [b"", b"\xaf", b"\x90mp", b"\xaf\x07x"])
def test_truncated_or_bad_audio_raises(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_audio(payload, 0)
