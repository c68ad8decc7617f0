"""Chunked mode of ``socialflow bench transcode``: our pipeline's runs in N worker processes.

The parent probes once and plans the runs (:func:`pipelines.plan_runs`); a
``ProcessPoolExecutor`` with N workers then takes every :func:`pipelines.transcode_run` plus
the one :func:`pipelines.transcode_audio` job, as separate job-queue workers would; the parent
writes the manifests last (:func:`pipelines.write_manifests`). Worker processes are started
and warmed (imports done) before the clock starts, as long-lived queue workers would be; their
CPU seconds (counted once the pool is shut down) include that warm-up.

Like the ``video.part`` jobs, each job reads the source from a blob store (``store_url``) with
the parent's probe, through a :class:`storage.BlobReader`, and reports the bytes it fetched;
before the reader, every part downloaded the whole source (``full_read_bytes``, measured once).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import BenchError
from benchmarks._counting_store import CountingStore
from pipelines import MediaInfo, Run, Rung, plan_runs, transcode_audio, transcode_run, write_manifests
from storage import BlobReader, StorageError, open_store

__all__ = ["SOURCE_KEY", "chunked_transcode", "cpu_seconds", "source_in_store", "threads_for"]

SOURCE_KEY = "bench/transcode/source.mp4"
_SECRET = b"bench-transcode"  # signs nothing here: a local store wants one


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) and its reaped children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def threads_for(workers: int) -> int:
    """x264 threads per encoder when ``workers`` processes share the CPU cores: 0 (x264's own
    choice, 1.5 threads per core) for one process, else the cores split evenly (at least 1)."""
    if workers <= 1:
        return 0
    return max(1, (os.cpu_count() or 1) // workers)


def _pin(counter: Any) -> None:
    """Worker initializer: take the next core for this process alone (a one-core machine)."""
    with counter.get_lock():
        core = counter.value % (os.cpu_count() or 1)
        counter.value += 1
    os.sched_setaffinity(0, {core})


def _warm() -> int:
    import pipelines  # noqa: F401  (the import is the warm-up)

    time.sleep(0.2)
    return os.getpid()


@contextmanager
def source_in_store(src: Path, store_url: str) -> Iterator[int]:
    """Put ``src`` under :data:`SOURCE_KEY` in the store of ``store_url`` for the context (removed
    afterwards); gives the bytes a whole-source download of it reads back (what each part read
    before ranged reads). A store that fails raises ``BenchError``."""
    try:
        store = CountingStore(open_store(store_url, secret=_SECRET, ensure=True))
        store.upload(src, SOURCE_KEY)
    except StorageError as exc:
        raise BenchError(f"cannot put the source into the store: {exc}") from exc
    try:
        with tempfile.TemporaryDirectory(prefix="socialflow-bench-download-") as tmp:
            store.download(SOURCE_KEY, Path(tmp) / "source")
        yield store.take()[SOURCE_KEY].bytes
    finally:
        store.delete(SOURCE_KEY)


def _read_part(store_url: str, info: MediaInfo, part: str, encode: Callable[[BlobReader], int]) -> dict:
    """Run ``encode`` (which returns the segments it wrote) on a reader of the source; the part's
    name, its segments and the bytes and requests it took from the store."""
    store = CountingStore(open_store(store_url, secret=_SECRET))
    with BlobReader(store, SOURCE_KEY, size=info.size) as reader:
        segments = encode(reader)
    reads = store.take()[SOURCE_KEY]
    return {"part": part, "segments": segments, "bytes_read": reads.bytes, "requests": reads.requests}


def _video_job(
    store_url: str, out: str, ladder: list[Rung], run: Run, segment: float, info: MediaInfo
) -> dict:
    def encode(reader: BlobReader) -> int:
        written = transcode_run(reader, out, ladder, run, segment, info=info)
        return sum(len(segments) for segments in written.values())

    return _read_part(store_url, info, f"run:{run.index}", encode)


def _audio_job(store_url: str, out: str, segment: float, bitrate: int, info: MediaInfo) -> dict:
    def encode(reader: BlobReader) -> int:
        return len(transcode_audio(reader, out, segment_duration=segment, bitrate=bitrate, info=info))

    return _read_part(store_url, info, "audio", encode)


def chunked_transcode(
    store_url: str,
    out: Path,
    ladder: list[Rung],
    info: MediaInfo,
    *,
    workers: int,
    segments_per_run: int,
    segment_duration: float,
    full_read_bytes: int,
    pin: bool = False,
) -> dict[str, Any]:
    """Transcode the source that :func:`source_in_store` put in the store of ``store_url`` in
    chunked mode with ``workers`` processes; wall seconds, the plan and each part's bytes read.

    ``pin`` gives each worker process a core of its own (and x264 one thread), as if each worker
    were a one-core machine: the setting in which N workers should approach N times faster.
    """
    threads = 1 if pin else threads_for(workers)
    ladder = [dataclasses.replace(rung, threads=threads) for rung in ladder]
    runs = plan_runs(info, segment_duration, segments_per_run)
    bitrate = max(r.audio_bitrate for r in ladder)
    context = multiprocessing.get_context("spawn")
    cpu = cpu_seconds()
    pinning: dict[str, Any] = {}
    if pin:
        pinning = {"initializer": _pin, "initargs": (context.Value("i", 0),)}
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, **pinning) as pool:
        pids = {job.result() for job in [pool.submit(_warm) for _ in range(workers)]}
        started = time.perf_counter()
        jobs = [
            pool.submit(_video_job, store_url, str(out), ladder, run, segment_duration, info) for run in runs
        ]
        jobs.append(pool.submit(_audio_job, store_url, str(out), segment_duration, bitrate, info))
        parts = [job.result() for job in jobs]
        result = write_manifests(out, ladder, info, segment_duration)
        seconds = time.perf_counter() - started
    return {
        "cpu_seconds": cpu_seconds() - cpu,
        "workers": workers,
        "worker_processes_started": len(pids),
        "x264_threads_per_encoder": threads or "auto",
        "pinned_one_core_per_worker": pin,
        "runs": len(runs),
        "segments_per_run": segments_per_run,
        "seconds": seconds,
        "realtime": info.duration / seconds,
        "renditions": len(result.renditions),
        "source_bytes": info.size,
        "parts": [{**part, "full_read_bytes": full_read_bytes} for part in parts],
    }
