"""Audio Content-ID on real music: excerpts found at the right offset under common edits."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from fingerprint import (
    CLAIM_MIN_SECONDS,
    AudioSignal,
    Match,
    Matcher,
    MediaFingerprint,
    find_peaks,
    fingerprint_file,
)

RATE = 8000
REFERENCE_SECONDS = 120.0
TRACKS = ("frontiers", "machine_wars", "time_to_strike")


def query(matcher: Matcher, samples: np.ndarray) -> list[Match]:
    peaks = find_peaks(AudioSignal(np.asarray(samples, np.float32), RATE))
    return matcher.match(MediaFingerprint(peaks=peaks, frames=None, duration=len(samples) / RATE))


def excerpt(signal: AudioSignal, start: float, seconds: float) -> np.ndarray:
    return signal.samples[round(start * signal.rate) : round((start + seconds) * signal.rate)].copy()


def assert_found(
    found: list[Match],
    ref_id: int,
    reference_start: float,
    query_start: float,
    duration: float,
    tol: float = 1.0,
) -> Match:
    hits = [m for m in found if m.reference_id == ref_id and m.kind == "audio"]
    assert hits, f"reference {ref_id} not found; got {found}"
    best = max(hits, key=lambda m: m.duration)
    assert abs(best.reference_start - reference_start) <= tol, best
    assert abs(best.query_start - query_start) <= tol, best
    assert abs(best.duration - duration) <= tol, best
    assert all(m.reference_id in (0, 1) for m in found)
    return best


@settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ref_id=st.integers(0, 1),
    seconds=st.floats(8.0, 20.0),
    fraction=st.floats(0.0, 1.0),
)
def test_any_excerpt_is_found_at_its_offset(audio_matcher, music, ref_id, seconds, fraction):
    start = fraction * (REFERENCE_SECONDS - seconds)
    found = query(audio_matcher, excerpt(music[TRACKS[ref_id]], start, seconds))
    assert_found(found, ref_id, start, 0.0, seconds)


@pytest.mark.parametrize("snr_db", [10.0, 5.0])
@pytest.mark.parametrize("start", [11.3, 57.77, 93.05])
def test_found_under_white_noise(audio_matcher, music, snr_db, start):
    clip = excerpt(music["frontiers"], start, 12.0)
    rng = np.random.default_rng(int(start * 100))
    noise = rng.standard_normal(len(clip)).astype(np.float32)
    noise *= np.sqrt(np.mean(clip**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    found = [m for m in query(audio_matcher, clip + noise) if m.reference_id == 0]
    assert found and all(m.reference_id in (0, 1) for m in found)
    best = max(found, key=lambda m: m.duration)
    # Under heavy noise quiet passages lose their landmarks, so the span may shrink, but the
    # alignment stays exact and the span stays inside the truth and long enough to claim.
    assert abs(best.offset - (0.0 - start)) <= 0.1, best
    assert best.query_start >= -0.5 and best.query_end <= 12.5, best
    assert best.duration > CLAIM_MIN_SECONDS, best


@pytest.mark.parametrize("codec,suffix", [("aac", "m4a"), ("libmp3lame", "mp3")])
def test_found_after_64_kbit_lossy_reencode(audio_matcher, music, kit, tmp_path: Path, codec, suffix):
    wav = kit.write_wav(tmp_path / "clip.wav", excerpt(music["machine_wars"], 40.5, 10.0))
    lossy = tmp_path / f"clip.{suffix}"
    kit.ffmpeg("-i", wav, "-ar", "22050", "-c:a", codec, "-b:a", "64k", lossy)
    found = audio_matcher.match(fingerprint_file(lossy))
    assert_found(found, 1, 40.5, 0.0, 10.0)


@pytest.mark.parametrize("gain", [0.05, 4.0])
def test_found_after_volume_change(audio_matcher, music, gain):
    assert_found(query(audio_matcher, excerpt(music["frontiers"], 70.0, 10.0) * gain), 0, 70.0, 0.0, 10.0)


@pytest.mark.parametrize("speed", [1.03, 0.97])
def test_found_after_speed_change(audio_matcher, music, speed):
    """Played ``speed`` times faster (tempo and pitch, like a faster tape): 10 s become 10/speed."""
    clip = excerpt(music["machine_wars"], 25.0, 10.0)
    up, down = 100, round(100 * speed)
    faster = resample_poly(clip, up, down).astype(np.float32)
    assert_found(query(audio_matcher, faster), 1, 25.0, 0.0, 10.0 / speed)


def test_found_embedded_in_other_audio(audio_matcher, music):
    """A 10 s excerpt placed at 6 s into unrelated music, which keeps playing under it at -6 dB."""
    host = excerpt(music["time_to_strike"], 100.0, 25.0)
    clip = excerpt(music["frontiers"], 33.3, 10.0)
    mix = host * 0.5
    at = 6 * RATE
    mix[at : at + len(clip)] += clip
    found = query(audio_matcher, mix)
    assert_found(found, 0, 33.3, 6.0, 10.0)


def test_unrelated_audio_never_matches(audio_matcher, music):
    """False positives over 100+ windows of another track and synthetic signals: none allowed."""
    other = music["time_to_strike"]
    windows = [excerpt(other, s, 10.0) for s in np.arange(0.0, other.duration - 10.0, 3.0)]
    rng = np.random.default_rng(7)
    t = np.arange(10 * RATE) / RATE
    windows += [
        rng.standard_normal(10 * RATE).astype(np.float32) * 0.1,
        (0.3 * np.sin(2 * np.pi * (200 + 150 * t) * t)).astype(np.float32),
        np.zeros(10 * RATE, np.float32),
    ]
    assert len(windows) >= 100
    false = [(i, found) for i, w in enumerate(windows) if (found := query(audio_matcher, w))]
    assert false == []


def test_landmark_extraction_is_fast(music):
    """Sanity floor for ingest speed (the benchmark measures the real figure): > 50x realtime.

    The best of three runs is taken, as the CI machine is shared.
    """
    signal = music["frontiers"]
    elapsed = []
    for _ in range(3):
        started = time.perf_counter()
        lm = find_peaks(signal).landmarks()
        elapsed.append(time.perf_counter() - started)
    assert len(lm) > 50 * signal.duration
    assert signal.duration / min(elapsed) > 50


def test_chunked_peaks_equal_whole_spectrogram_peaks(music):
    """Hour-long files are processed in blocks; the blocks must not change a single peak."""
    signal = AudioSignal(music["machine_wars"].samples[: 40 * RATE], RATE)
    whole = find_peaks(signal, chunk_frames=10**9)
    chunked = find_peaks(signal, chunk_frames=700)
    assert len(whole) > 1000
    assert np.array_equal(whole.times, chunked.times) and np.array_equal(whole.freqs, chunked.freqs)
