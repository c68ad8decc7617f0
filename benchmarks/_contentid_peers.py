"""The public peers of the Content-ID benchmark: audfprint, Chromaprint's fpcalc and vPDQ.

* audfprint (github.com/dpwe/audfprint) runs from a local copy of its source (``--audfprint
  DIR``) as a subprocess with the venv's Python, its defaults, and an ``ffmpeg`` on its PATH.
* ``fpcalc`` (Debian ``libchromaprint-tools``) fingerprints whole files; a query is identified
  as the reference whose raw fingerprint agrees best, bit for bit, over small alignments.
* vPDQ (PyPI ``vpdq``) is used when importable, else reported with the reason.

CPU seconds are those of the child processes (``RUSAGE_CHILDREN``), so they count per core.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import BenchError
from benchmarks._contentid_data import FFMPEG

FPCALC_LENGTH = 120
"""Seconds of each file fpcalc fingerprints (its default)."""
FPCALC_MIN_SIMILARITY = 0.65
"""Share of equal fingerprint bits (best alignment) needed to call a whole-file match."""
FPCALC_MAX_SHIFT = 16
"""Alignments tried, in fingerprint items (about 0.124 s each), each way."""

_MATCHED = re.compile(
    r"Matched\s+([\d.]+) s starting at\s+(-?[\d.]+) s in (\S+)"
    r" to time\s+(-?[\d.]+) s in (\S+) with\s+(\d+) of"
)


@dataclass(frozen=True)
class PeerAnswer:
    """A peer's best answer to one query: reference index (or None) and, if known, the
    reference time (seconds) that plays at ``query_time`` seconds into the query."""

    reference: int | None
    query_time: float = 0.0
    reference_time: float | None = None


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Audfprint:
    """audfprint's ``new`` and ``match`` commands on one database in a scratch folder."""

    def __init__(self, source: Path, work: Path) -> None:
        self.script = source / "audfprint.py"
        if not self.script.is_file():
            raise BenchError(f"{source} has no audfprint.py (pass a copy of github.com/dpwe/audfprint)")
        self.work = work
        self.work.mkdir(parents=True, exist_ok=True)
        bin_dir = work / "bin"
        bin_dir.mkdir(exist_ok=True)
        link = bin_dir / "ffmpeg"
        if not link.exists():
            link.symlink_to(FFMPEG)
        self.env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        self.db = work / "db.pklz"
        self.names: dict[str, int] = {}

    def _run(self, args: list[str]) -> tuple[str, float, float]:
        wall, cpu = time.perf_counter(), _cpu_children()
        done = subprocess.run(
            [sys.executable, str(self.script), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall, cpu = time.perf_counter() - wall, _cpu_children() - cpu
        if done.returncode != 0:
            raise BenchError(f"audfprint {args[0]} failed: {done.stderr[-800:]}")
        return done.stdout, wall, cpu

    def ingest(self, references: Sequence[Path]) -> tuple[float, float]:
        """Index the references (linked under plain names); returns (wall, CPU) seconds."""
        ref_dir = self.work / "refs"
        ref_dir.mkdir(exist_ok=True)
        lines = []
        for i, path in enumerate(references):
            link = ref_dir / f"r{i:05d}{path.suffix}"
            if not link.exists():
                link.symlink_to(path)
            self.names[link.name] = i
            lines.append(str(link))
        listing = self.work / "refs.txt"
        listing.write_text("\n".join(lines) + "\n")
        _, wall, cpu = self._run(["new", "--dbase", str(self.db), "--ncores", "1", "--list", str(listing)])
        return wall, cpu

    def match(self, queries: Sequence[Path]) -> tuple[dict[str, PeerAnswer], float, float]:
        """Best match per query (file name without suffix), and the (wall, CPU) seconds of the batch."""
        listing = self.work / "queries.txt"
        listing.write_text("\n".join(map(str, queries)) + "\n")
        out, wall, cpu = self._run(
            ["match", "--dbase", str(self.db), "--find-time-range", "--ncores", "1", "--list", str(listing)]
        )
        answers: dict[str, PeerAnswer] = {}
        for line in out.splitlines():
            found = _MATCHED.search(line)
            if found is None:
                continue
            query = Path(found.group(3)).stem
            if query not in answers:
                answers[query] = PeerAnswer(
                    reference=self.names.get(Path(found.group(5)).name),
                    query_time=float(found.group(2)),
                    reference_time=float(found.group(4)),
                )
        return answers, wall, cpu


def fpcalc_available() -> str | None:
    """Path of fpcalc, or None when it is not installed."""
    return shutil.which("fpcalc")


def fpcalc_raw(path: Path) -> np.ndarray:
    """fpcalc's raw fingerprint of the first FPCALC_LENGTH seconds, as uint32."""
    exe = fpcalc_available()
    if exe is None:
        raise BenchError("fpcalc is not installed")
    done = subprocess.run(
        [exe, "-raw", "-length", str(FPCALC_LENGTH), str(path)], capture_output=True, text=True, check=False
    )
    # fpcalc 1.5 prints the fingerprint, then fails with "End of file" on WAV input: keep the
    # fingerprint whenever it was printed.
    for line in done.stdout.splitlines():
        if line.startswith("FINGERPRINT="):
            values = line.split("=", 1)[1]
            return np.array([int(v) & 0xFFFFFFFF for v in values.split(",") if v], np.uint32)
    raise BenchError(f"fpcalc {path} failed: {done.stderr.strip()[-300:]}")


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best share of equal bits between two raw fingerprints over shifts of +-FPCALC_MAX_SHIFT."""
    best = 0.0
    for shift in range(-FPCALC_MAX_SHIFT, FPCALC_MAX_SHIFT + 1):
        x, y = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
        n = min(len(x), len(y))
        if n < 16:
            continue
        diff = np.bitwise_xor(x[:n], y[:n]).view(np.uint8)
        best = max(best, 1.0 - float(_POPCOUNT[diff].sum()) / (32 * n))
    return best


def fpcalc_identify(query: np.ndarray, references: Sequence[np.ndarray]) -> tuple[int | None, float]:
    """(best reference index or None below FPCALC_MIN_SIMILARITY, its similarity)."""
    scores = [similarity(query, ref) for ref in references]
    if not scores:
        return None, 0.0
    best = int(np.argmax(scores))
    return (best if scores[best] >= FPCALC_MIN_SIMILARITY else None), scores[best]


VPDQ_DISTANCE = 31
"""Largest Hamming distance (of 256 bits) at which two PDQ frame hashes match (vPDQ's default)."""
VPDQ_QUALITY = 50
"""Frames of lower PDQ quality are ignored (vPDQ's default)."""
VPDQ_MIN_SHARE = 0.5
"""Share of a query's frames that must match one reference for vPDQ to name it."""


@dataclass(frozen=True)
class VpdqHashes:
    """vPDQ frame hashes of one video: bits (n, 32) uint8 and timestamps (seconds)."""

    bits: np.ndarray
    times: np.ndarray


def vpdq_hashes(path: Path, seconds_per_hash: float) -> VpdqHashes:
    """vPDQ hashes of a video file, one every ``seconds_per_hash``, low-quality frames dropped."""
    import vpdq  # type: ignore[import-not-found,unused-ignore]

    features = [
        f
        for f in vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash, thread_count=1)
        if f.quality >= VPDQ_QUALITY
    ]
    bits = np.array([np.frombuffer(bytes.fromhex(f.hex), np.uint8) for f in features], np.uint8).reshape(
        -1, 32
    )
    return VpdqHashes(bits, np.array([f.timestamp for f in features], np.float64))


def vpdq_identify(query: VpdqHashes, references: Sequence[VpdqHashes]) -> PeerAnswer:
    """The reference most of whose frames the query's frames match (vPDQ's query match share).

    The answer's reference time (at query time 0) is the median offset of the matched frames.
    """
    best, best_share, best_time = None, 0.0, None
    if len(query.bits) == 0:
        return PeerAnswer(None)
    for i, ref in enumerate(references):
        if len(ref.bits) == 0:
            continue
        dist = _POPCOUNT[np.bitwise_xor(query.bits[:, None, :], ref.bits[None, :, :])].sum(
            axis=2, dtype=np.int32
        )
        nearest = dist.argmin(axis=1)
        matched = dist[np.arange(len(query.bits)), nearest] <= VPDQ_DISTANCE
        share = float(matched.mean())
        if share > best_share:
            offsets = ref.times[nearest[matched]] - query.times[matched]
            best, best_share, best_time = i, share, float(np.median(offsets)) if matched.any() else None
    if best_share < VPDQ_MIN_SHARE:
        return PeerAnswer(None)
    return PeerAnswer(best, 0.0, best_time)


def vpdq_status() -> str | None:
    """None when vPDQ imports, else why it cannot be used."""
    try:
        import vpdq  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError as exc:
        return f"unavailable: {exc}"
    return None


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
