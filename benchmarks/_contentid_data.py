"""Evaluation audio for the Content-ID benchmark: Debian game music and degraded excerpts.

Music comes from Debian packages fetched with ``apt-get download`` and unpacked with
``dpkg -x`` into a cache folder (nothing is installed, nothing is committed). Excerpts are cut
and resampled by the ffmpeg CLI (from imageio-ffmpeg) to :data:`RATE` Hz mono float, degraded
with numpy, and written as query files (WAV, or M4A/MP3 for the codec cases). Times are seconds.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
from scipy import signal as sps

from benchmarks._common import BenchError

log = logging.getLogger("benchmarks.contentid")

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RATE = 22050
"""Sample rate (Hz) of the excerpts and query files."""
CACHE = Path.home() / ".cache" / "socialflow-bench-media"
PACKAGES: dict[str, str] = {
    "asc-music": "usr/share/games/asc/music",
    "singularity-music": "usr/share/games/singularity/music",
    "drascula-music": "usr/share/scummvm/drascula/audio",
    "supertux-data": "usr/share/games/supertux2/music",
}
"""Debian package -> folder of its music inside the package."""


@dataclass(frozen=True)
class SharedMusic:
    """A track that holds a recording of ``reference``'s: ``seconds`` of it from ``start`` are
    ``reference`` from ``reference_start`` (found by our matcher, confirmed by the waveforms)."""

    reference: str
    start: float
    reference_start: float
    seconds: float


SHARED_MUSIC: dict[str, SharedMusic] = {
    "call_of_the_winding_path.ogg": SharedMusic("shallow-green.ogg", 0.0, 240.0, 8.0),
    "Aberrations.ogg": SharedMusic("Nebula.ogg", 0.0, 0.0, 16.0),
}
"""Track -> the reference it shares a recording with; such a track is never used as a negative.
supertux's ``shallow-green`` ends (about 224-252 s) with the loop that ``call_of_the_winding_path``
repeats: 57 of the latter's 78 windows of 5 s matched there. singularity's ``Aberrations`` opens
with a layer of ``Nebula``'s opening, sample for sample. Two pieces that only sound alike have no
waveform correlation; a shared recording has. Measured 2026-11-22 with
:func:`shared_music_evidence` (median over 1 s windows of the |correlation| within 8 ms of the
alignment): ``Aberrations`` 0.152 (up to 0.76) against at most 0.065 for any of 92 other tracks at
the same place; ``call_of_the_winding_path`` 0.149 (up to 0.36) against at most 0.033 of 14.
Each run measures this again (:func:`shared_music_evidence`, in the JSON)."""

SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
DEGRADATIONS = ("clean", "noise10", "noise5", "aac64", "mp364", "volume", "speed+3", "speed-3", "embedded")
"""Every query is one excerpt under one of these (see :func:`degrade`)."""
SPEEDS = {"speed+3": 1.03, "speed-3": 0.97}


@dataclass(frozen=True)
class Track:
    """One music file and its duration (seconds)."""

    path: Path
    duration: float


@dataclass(frozen=True)
class QuerySpec:
    """A query: ``length`` seconds of ``track`` from ``start`` under ``degradation``.

    The excerpt sits at ``embed_at`` seconds into the query file; ``speed`` is the play-back
    speed-up applied (so reference time ``start + (t - embed_at) * speed`` plays at query time t).
    ``reference`` is the index of the track among the references, or -1 for a negative.
    """

    name: str
    reference: int
    degradation: str
    length: float
    start: float
    embed_at: float
    speed: float
    file: Path
    source: str = ""
    """File name of the track the excerpt was cut from."""


def run_ffmpeg(args: Sequence[str | Path], stdin: bytes | None = None) -> bytes:
    """Run ffmpeg quietly and return its stdout; BenchError with its message on failure."""
    done = subprocess.run(
        [FFMPEG, "-y", "-loglevel", "error", *(["-nostdin"] if stdin is None else []), *map(str, args)],
        input=stdin,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(
            f"ffmpeg {' '.join(map(str, args))} failed: {done.stderr.decode(errors='replace')[-500:]}"
        )
    return done.stdout


def fetch_package(name: str, cache: Path = CACHE) -> Path:
    """Unpacked content of Debian package ``name`` under ``cache`` (downloaded once)."""
    folder = cache / name
    marker = folder / ".unpacked"
    if marker.exists():
        return folder
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise BenchError(f"cannot fetch {name}: apt-get and dpkg are needed (Debian or Ubuntu)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["apt-get", "download", name], cwd=tmp, check=True, capture_output=True, timeout=600
            )
            deb = next(Path(tmp).glob(f"{name}_*.deb"))
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["dpkg", "-x", str(deb), str(folder)], check=True, capture_output=True, timeout=600
            )
        except (subprocess.SubprocessError, StopIteration, OSError) as exc:
            raise BenchError(f"cannot fetch Debian package {name}: {exc}") from exc
    marker.touch()
    return folder


def probe_duration(path: Path) -> float:
    """Duration in seconds of a media file (0.0 when it has no readable audio)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio or container.duration is None:
                return 0.0
            return float(container.duration) / 1e6
    except av.error.FFmpegError:
        return 0.0


def find_tracks(packages: Sequence[str], min_seconds: float, cache: Path = CACHE) -> list[Track]:
    """Music files of ``packages`` at least ``min_seconds`` long, in a stable order."""
    tracks: list[Track] = []
    for name in packages:
        if name not in PACKAGES:
            raise BenchError(f"unknown music package {name!r}; known: {', '.join(PACKAGES)}")
        root = fetch_package(name, cache) / PACKAGES[name]
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()):
            duration = probe_duration(path)
            if duration >= min_seconds:
                tracks.append(Track(path, duration))
    log.info("%d tracks, %.2f hours", len(tracks), sum(t.duration for t in tracks) / 3600)
    return tracks


def read_excerpt(path: Path, start: float, seconds: float) -> np.ndarray:
    """Mono float32 samples at RATE of ``seconds`` from ``start`` (shorter at the file's end)."""
    raw = run_ffmpeg(
        [
            "-ss",
            f"{start:.3f}",
            "-t",
            f"{seconds:.3f}",
            "-i",
            path,
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-f",
            "f32le",
            "-",
        ]
    )
    return np.frombuffer(raw, np.float32).copy()


def _window_correlation(x: np.ndarray, y: np.ndarray, start: int, search: int) -> float:
    """Largest |normalised correlation| of ``x`` with ``y[start + lag:]`` for |lag| <= search."""
    best = 0.0
    xx = float(np.dot(x, x))
    for lag in range(-search, search + 1):
        i = start + lag
        if i < 0 or i + len(x) > len(y):
            continue
        seg = y[i : i + len(x)]
        best = max(best, abs(float(np.dot(x, seg))) / (np.sqrt(xx * float(np.dot(seg, seg))) + 1e-12))
    return best


def waveform_agreement(
    track: Path, start: float, reference: Path, reference_start: float, seconds: float
) -> list[float]:
    """Per 1 s window, how well ``track`` from ``start`` matches ``reference`` from
    ``reference_start`` sample for sample (|correlation| within 8 ms, the matcher's resolution).

    A shared recording correlates; music that only sounds alike (other notes, other takes, other
    phases) gives about 0 however alike its spectrogram looks.
    """
    x = _decoded(track, start + seconds)
    return _agreement(x, start, _decoded(reference, reference_start + seconds + 1), reference_start, seconds)


def _decoded(path: Path, seconds: float) -> np.ndarray:
    from fingerprint import decode_audio

    return np.asarray(decode_audio(path, max_seconds=seconds).samples)


def _agreement(
    x: np.ndarray, start: float, y: np.ndarray, reference_start: float, seconds: float
) -> list[float]:
    """:func:`waveform_agreement` on samples already decoded at the fingerprint rate."""
    from fingerprint import AUDIO_RATE

    search = int(0.008 * AUDIO_RATE)
    out = []
    for k in range(int(seconds)):
        lo = int((start + k) * AUDIO_RATE)
        window = x[lo : lo + AUDIO_RATE]
        if len(window) == AUDIO_RATE:
            out.append(_window_correlation(window, y, int((reference_start + k) * AUDIO_RATE), search))
    return out


def shared_music_evidence(tracks: Sequence[Track]) -> dict[str, dict[str, Any]]:
    """For each pair of :data:`SHARED_MUSIC` among ``tracks``: the median waveform agreement at
    the shared alignment, and (the control) the largest median of the same windows against every
    other track at the same reference time."""
    by_name = {t.path.name: t for t in tracks}
    out: dict[str, dict[str, Any]] = {}
    for name, shared in SHARED_MUSIC.items():
        if name not in by_name or shared.reference not in by_name:
            continue
        end = shared.reference_start + shared.seconds
        x = _decoded(by_name[name].path, shared.start + shared.seconds)

        def against(path: Path, x: np.ndarray = x, shared: SharedMusic = shared) -> list[float]:
            y = _decoded(path, shared.reference_start + shared.seconds + 1)
            return _agreement(x, shared.start, y, shared.reference_start, shared.seconds)

        at = against(by_name[shared.reference].path)
        others = [
            float(np.median(against(t.path)))
            for other, t in by_name.items()
            if other not in (name, shared.reference) and t.duration > end
        ]
        out[name] = {
            "reference": shared.reference,
            "median_agreement": round(float(np.median(at)), 3),
            "max_agreement": round(max(at), 3),
            "control_tracks": len(others),
            "control_largest_median": round(max(others), 3) if others else float("nan"),
        }
    return out


def _with_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(x.astype(np.float64) ** 2)) or 1e-12
    noise = rng.standard_normal(len(x)) * np.sqrt(power / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def _write(samples: np.ndarray, file: Path, codec: list[str]) -> None:
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak > 1.0:
        samples = samples / peak
    run_ffmpeg(
        ["-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-", *codec, file],
        stdin=samples.astype(np.float32).tobytes(),
    )


def degrade(spec: QuerySpec, excerpt: np.ndarray, background: np.ndarray, rng: np.random.Generator) -> None:
    """Write the query file of ``spec`` from its excerpt (and unrelated ``background`` music).

    noiseN: white noise at N dB SNR; aac64/mp364: encoded at 64 kbit/s; volume: -12 dB;
    speed+-3: played 3% faster/slower (pitch and tempo); embedded: the excerpt mixed at full
    level into unrelated music (at -6 dB) that runs ``embed_at`` seconds before and after it.
    """
    x = excerpt
    codec = ["-c:a", "pcm_s16le"]
    kind = spec.degradation
    if kind == "noise10":
        x = _with_noise(x, 10.0, rng)
    elif kind == "noise5":
        x = _with_noise(x, 5.0, rng)
    elif kind == "aac64":
        codec = ["-c:a", "aac", "-b:a", "64k"]
    elif kind == "mp364":
        codec = ["-c:a", "libmp3lame", "-b:a", "64k"]
    elif kind == "volume":
        x = x * np.float32(10 ** (-12 / 20))
    elif kind in SPEEDS:
        up = round(SPEEDS[kind] * 100)
        x = sps.resample_poly(x, 100, up).astype(np.float32)
    elif kind == "embedded":
        mixed = background[: round((spec.length + 2 * spec.embed_at) * RATE)] * np.float32(0.5)
        at = round(spec.embed_at * RATE)
        n = min(len(x), len(mixed) - at)
        mixed[at : at + n] += x[:n]
        x = mixed
    elif kind != "clean":
        raise BenchError(f"unknown degradation {kind!r}")
    if kind != "embedded":
        x = x[: round(spec.length * RATE)]
    _write(x, spec.file, codec)


SUFFIX = {"aac64": ".m4a", "mp364": ".mp3"}


def make_queries(
    references: list[Track],
    negatives: list[Track],
    lengths: Sequence[float],
    per_case: int,
    folder: Path,
    seed: int = 7,
    degradations: Sequence[str] = DEGRADATIONS,
    from_start: bool = False,
) -> list[QuerySpec]:
    """Write ``per_case`` queries per (degradation, length) and per length from negatives.

    Reference starts are random (uniform over the track, seeded), or 0 with ``from_start`` (the
    whole-file case, as Chromaprint compares files from their start); negatives are clean
    excerpts of tracks not in the index, labelled ``reference = -1``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    specs: list[QuerySpec] = []
    cases = [(d, length) for length in lengths for d in degradations]
    cases += [("negative", length) for length in lengths]
    for kind, length in cases:
        for _ in range(per_case):
            pool = negatives if kind == "negative" else references
            which = int(rng.integers(len(pool)))
            track = pool[which]
            speed = SPEEDS.get(kind, 1.0)
            need = length * max(speed, 1.0) + 0.1
            start = 0.0 if from_start else float(rng.uniform(0.0, max(0.0, track.duration - need - 0.5)))
            embed_at = length / 2 if kind == "embedded" else 0.0
            name = f"{'w' if from_start else 'q'}{len(specs):05d}"
            spec = QuerySpec(
                name=name,
                reference=-1 if kind == "negative" else which,
                degradation="clean" if kind == "negative" else kind,
                length=length,
                start=start,
                embed_at=embed_at,
                speed=speed,
                file=folder / (name + SUFFIX.get(kind, ".wav")),
                source=track.path.name,
            )
            excerpt = read_excerpt(track.path, start, need)
            background = np.zeros(0, np.float32)
            if kind == "embedded":
                other = negatives[int(rng.integers(len(negatives)))]
                span = length + 2 * embed_at
                bg_start = float(rng.uniform(0.0, max(0.0, other.duration - span - 0.5)))
                background = read_excerpt(other.path, bg_start, span)
                if len(background) < round(span * RATE):
                    background = np.pad(background, (0, round(span * RATE) - len(background)))
            degrade(spec, excerpt, background, rng)
            specs.append(spec)
    return specs
