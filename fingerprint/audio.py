"""Audio landmarks: the constellation method over a log-magnitude STFT.

The signal (mono, :data:`~fingerprint.decode.AUDIO_RATE` Hz) is cut into frames of
:data:`N_FFT` samples every :data:`HOP` samples (:data:`FRAME_SECONDS` seconds). Spectral peaks
are local maxima of the log spectrogram in a time/frequency neighbourhood that stand
:data:`PEAK_MARGIN` above a local mean (an adaptive threshold, so a change of volume changes
nothing). There is no per-second quota of peaks: a quota depends on where its blocks start, which
an excerpt changes. The hop is short (8 ms) because an excerpt starts at an arbitrary sample: with
a 32 ms hop the peaks of an excerpt moved between frames and most landmarks were lost. Peak
positions are refined to fractions of a bin and a frame by parabolic interpolation.

Each peak (the anchor) is paired with up to :data:`FAN_OUT` later peaks in its target zone
(1..:data:`MAX_DT` frames later, within :data:`MAX_DF` bins). A landmark is the hash
``f1 << 15 | f2 << 7 | dt`` (8 + 8 + 7 bits of a uint32) with the anchor time in frames.

Robustness: noise and lossy re-encoding remove some peaks but leave enough landmarks for the
offset vote in the matcher; embedding in other audio adds peaks that only add unmatched hashes,
and the query pairs each anchor with more targets than the reference did (the matcher's
``QUERY_FAN_OUT``) so that inserted peaks do not push the reference's pairs out. Measured on game
music against a one-hour index: 10 s excerpts under white noise at 5 and 10 dB SNR were found at
the right offset 29 times in 30, 15 s excerpts 30 in 30, with no false match in 158 windows of
unrelated music.
A speed change by a factor ``s`` (pitch and tempo together, as when a clip is played faster)
scales peak frequencies by ``s`` and times by ``1/s``; :meth:`Peaks.landmarks` undoes a given
factor on the query side, and the matcher tries a few factors (see ``SPEED_FACTORS`` there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage

from .decode import AUDIO_RATE, AudioSignal
from .errors import InvalidFingerprint

N_FFT = 512
HOP = 64
FRAME_SECONDS = HOP / AUDIO_RATE
"""Seconds per landmark time unit (one STFT hop)."""

MIN_BIN, MAX_BIN = 4, 250
PEAK_NEIGHBOURHOOD = (13, 33)
"""(frequency bins, frames) of the local-maximum window."""
BACKGROUND = (41, 129)
"""(frequency bins, frames) of the local mean the adaptive threshold is taken from."""
PEAK_MARGIN = 1.0
"""Natural-log units a peak must stand above the local mean (about 8.7 dB)."""
HASH_BITS = 23
"""Landmark hashes are below 2**HASH_BITS (f1: 8 bits, f2: 8 bits, dt: 7 bits)."""
FAN_OUT = 6
"""Targets paired with each anchor in references."""
MAX_DT = 127
"""Farthest target, in frames (about 1 s); dt takes 7 bits of the hash."""
MAX_DF = 48
"""Largest frequency step from anchor to target, in bins (750 Hz)."""
CHUNK_FRAMES = 7500
"""Frames (60 s) of spectrogram built at a time."""
_CONTEXT = BACKGROUND[1] // 2 + PEAK_NEIGHBOURHOOD[1] // 2 + 2
_SILENCE = 1e-4
_WINDOW = np.hanning(N_FFT + 2)[1:-1].astype(np.float32)


@dataclass(frozen=True)
class Landmarks:
    """Landmark hashes (uint32) and anchor times (int32, in frames of FRAME_SECONDS)."""

    hashes: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        if self.hashes.shape != self.times.shape or self.hashes.ndim != 1:
            raise InvalidFingerprint("landmark hashes and times must be 1-d arrays of one length")

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks: times (float frames) and frequencies (float bins), sorted by time."""

    times: np.ndarray
    freqs: np.ndarray

    def __len__(self) -> int:
        return len(self.times)

    def landmarks(self, speed: float = 1.0, fan_out: int | None = None) -> Landmarks:
        """Pair the peaks into landmarks, first undoing a speed-up of the signal by ``speed``.

        With ``speed`` s, peak times are multiplied by s and frequencies divided by s, so the
        landmarks of a clip played s times faster line up with those of the original.
        """
        if speed <= 0:
            raise InvalidFingerprint(f"speed factor must be positive, got {speed}")
        times = self.times * speed
        freqs = np.rint(self.freqs / speed).astype(np.int64)
        return _pair(times, freqs, FAN_OUT if fan_out is None else fan_out)


def spectrogram(samples: np.ndarray) -> np.ndarray:
    """Natural-log magnitude spectrogram, shape (N_FFT // 2 + 1, frames)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise InvalidFingerprint("audio samples must be a 1-d array")
    if len(x) < N_FFT:
        return np.zeros((N_FFT // 2 + 1, 0), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    # scipy.fft keeps float32 (numpy's FFT works in float64): 2.5x faster, same peaks.
    mag = np.abs(scipy.fft.rfft(frames * _WINDOW, axis=1))
    return np.log(np.maximum(mag, _SILENCE)).T


def _interpolate(spec: np.ndarray, f: np.ndarray, t: np.ndarray, axis: int) -> np.ndarray:
    """Sub-bin offset (-0.5..0.5) of each peak along ``axis`` by a parabola through 3 points."""
    size = spec.shape[axis]
    idx = t if axis == 1 else f
    lo = np.maximum(idx - 1, 0)
    hi = np.minimum(idx + 1, size - 1)
    if axis == 1:
        a, b, c = spec[f, lo], spec[f, t], spec[f, hi]
    else:
        a, b, c = spec[lo, t], spec[f, t], spec[hi, t]
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    return np.clip(delta, -0.5, 0.5)


def _chunk_peaks(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(integer frame, refined frame, refined bin) of the peaks of one spectrogram block."""
    band = np.ascontiguousarray(spec[MIN_BIN:MAX_BIN])
    local_max = band == ndimage.maximum_filter(band, size=PEAK_NEIGHBOURHOOD, mode="nearest")
    background = ndimage.uniform_filter(band, size=BACKGROUND, mode="nearest")
    candidate = local_max & (band - background > PEAK_MARGIN) & (band > np.log(_SILENCE) + 1.0)
    f, t = np.nonzero(candidate)
    f = f + MIN_BIN
    return t, t + _interpolate(spec, f, t, axis=1), f + _interpolate(spec, f, t, axis=0)


def find_peaks(signal: AudioSignal, chunk_frames: int = CHUNK_FRAMES) -> Peaks:
    """Spectral peaks of a signal decoded at AUDIO_RATE (see the module docstring).

    The spectrogram is built ``chunk_frames`` frames at a time, each block with enough context
    on both sides for the filters, so memory stays bounded for hour-long files and the peaks are
    those of the whole spectrogram.
    """
    if signal.rate != AUDIO_RATE:
        raise InvalidFingerprint(f"audio must be at {AUDIO_RATE} Hz, got {signal.rate}")
    if chunk_frames < 1:
        raise InvalidFingerprint("chunk_frames must be positive")
    x = np.asarray(signal.samples, np.float32)
    n_frames = 1 + (len(x) - N_FFT) // HOP if len(x) >= N_FFT else 0
    times: list[np.ndarray] = []
    freqs: list[np.ndarray] = []
    for start in range(0, n_frames, chunk_frames):
        lo, hi = max(0, start - _CONTEXT), min(n_frames, start + chunk_frames + _CONTEXT)
        frame, tt, ft = _chunk_peaks(spectrogram(x[lo * HOP : (hi - 1) * HOP + N_FFT]))
        own = (frame + lo >= start) & (frame + lo < start + chunk_frames)
        times.append(tt[own] + lo)
        freqs.append(ft[own])
    if not times:
        return Peaks(np.zeros(0), np.zeros(0))
    tt, ft = np.concatenate(times), np.concatenate(freqs)
    order = np.lexsort((ft, tt))
    return Peaks(times=tt[order], freqs=ft[order])


def _pair(times: np.ndarray, freqs: np.ndarray, fan_out: int) -> Landmarks:
    n = len(times)
    if n < 2:
        return Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32))
    width = min(n - 1, 5 * fan_out)
    anchor = np.arange(n)[:, None]
    target = np.minimum(anchor + np.arange(1, width + 1)[None, :], n - 1)
    t1 = np.rint(times).astype(np.int64)
    dt = t1[target] - t1[anchor]
    df = freqs[target] - freqs[anchor]
    ok = (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF) & (target > anchor)
    ok &= (freqs[anchor] >= 0) & (freqs[anchor] < 256) & (freqs[target] >= 0) & (freqs[target] < 256)
    ok &= np.cumsum(ok, axis=1) <= fan_out
    a, j = np.nonzero(ok)
    b = target[a, j]
    hashes = (freqs[a] << 15) | (freqs[b] << 7) | dt[a, j]
    return Landmarks(hashes.astype(np.uint32), t1[a].astype(np.int32))


def landmarks(signal: AudioSignal) -> Landmarks:
    """Landmarks of a reference signal (no speed correction)."""
    return find_peaks(signal).landmarks()
