"""Decoding to the fingerprint signals, and clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.bombs import BOMB_SIDE, peak_rss, picture_bomb

from fingerprint import (
    AUDIO_RATE,
    FingerprintError,
    MediaUnreadable,
    NoFingerprintableStream,
    decode_audio,
    fingerprint_file,
    sample_frames,
)


def test_stereo_44k_tone_becomes_mono_8k(kit, tmp_path: Path):
    """3 s of a 440 Hz stereo tone at 44.1 kHz: 24000 mono samples whose spectrum peaks at 440 Hz."""
    path = tmp_path / "tone.m4a"
    kit.ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=3",
        "-ac",
        "2",
        "-c:a",
        "aac",
        path,
    )
    signal = decode_audio(path)
    assert signal.rate == AUDIO_RATE and signal.samples.dtype == np.float32 and signal.samples.ndim == 1
    assert abs(len(signal.samples) - 3 * AUDIO_RATE) <= 1024 + 2048  # AAC priming and padding
    spectrum = np.abs(np.fft.rfft(signal.samples[2000:18000]))
    assert np.argmax(spectrum) * AUDIO_RATE / 16000 == pytest.approx(440, abs=1)
    assert len(decode_audio(path, max_seconds=1.0).samples) == AUDIO_RATE


def test_missing_and_garbage_files_are_media_unreadable(tmp_path: Path):
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4)
    for path in (tmp_path / "missing.mp4", garbage):
        with pytest.raises(MediaUnreadable) as err:
            decode_audio(path)
        assert err.value.code == "MEDIA_UNREADABLE" and err.value.status == 422
        assert isinstance(err.value, FingerprintError)


def test_missing_streams_are_reported(kit, tmp_path: Path):
    audio_only = kit.write_wav(tmp_path / "a.wav", np.zeros(8000, np.float32))
    with pytest.raises(NoFingerprintableStream) as err:
        sample_frames(audio_only)
    assert err.value.code == "NO_FINGERPRINTABLE_STREAM"
    video_only = kit.make_video(tmp_path / "v.mp4", seed=1, seconds=1.0)
    with pytest.raises(NoFingerprintableStream):
        decode_audio(video_only)
    fp = fingerprint_file(video_only)
    assert fp.peaks is None and fp.frames is not None and fp.duration == pytest.approx(1.0)
    with pytest.raises(NoFingerprintableStream):
        fingerprint_file(audio_only, audio=False)


def _damage_mp3(kit, tmp_path: Path, packets: int) -> Path:
    """A 4 s MP3 tone with the payload of ``packets`` packets from the middle overwritten."""
    import av

    clean = tmp_path / "tone.mp3"
    kit.ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "libmp3lame", clean)
    data = bytearray(clean.read_bytes())
    with av.open(str(clean)) as container:
        spans = [(p.pos, p.size) for p in container.demux(container.streams.audio[0]) if p.size]
    middle = len(spans) // 2
    for pos, size in spans[middle - packets // 2 : middle - packets // 2 + packets]:
        data[pos + 4 : pos + size] = bytes([0xAA]) * (size - 4)
    damaged = tmp_path / f"damaged-{packets}.mp3"
    damaged.write_bytes(bytes(data))
    return damaged


def test_a_stray_undecodable_packet_is_skipped_as_ffmpeg_does(kit, tmp_path: Path):
    signal = decode_audio(_damage_mp3(kit, tmp_path, 1))
    assert abs(signal.duration - 4.0) < 0.1


def test_many_undecodable_packets_are_media_unreadable(kit, tmp_path: Path):
    with pytest.raises(MediaUnreadable):
        decode_audio(_damage_mp3(kit, tmp_path, 40))


#: Growth of a fingerprinting process's peak memory allowed beyond its imports, MiB; the bomb's
#: picture alone would need 732 MiB once decoded.
FINGERPRINT_MEMORY_MIB = 64


@pytest.mark.parametrize("declared", [(BOMB_SIDE, BOMB_SIDE), (320, 240)])
def test_a_picture_bomb_is_unreadable_in_bounded_memory(tmp_path: Path, declared: tuple[int, int]):
    """Content-ID fingerprints an upload beside its transcode, before any probe: a 747 KB MOV
    holding a 16000x16000 PNG (whatever its header says) must fail to decode, not allocate it."""
    bomb = picture_bomb(tmp_path / "bomb.mov", declared=declared)
    answer = peak_rss(
        "from fingerprint import MediaUnreadable, fingerprint_file",
        f"try:\n    fingerprint_file({str(bomb)!r})\n    result = None\n"
        "except MediaUnreadable as exc:\n    result = exc.code",
        cwd=tmp_path,
    )
    assert answer["result"] == MediaUnreadable.code
    assert isinstance(answer["peak_mib"], int) and isinstance(answer["base_mib"], int)
    assert answer["peak_mib"] - answer["base_mib"] < FINGERPRINT_MEMORY_MIB, answer
