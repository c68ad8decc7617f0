"""Chunked mode of ``socialflow bench transcode``: our pipeline's runs in N worker processes.

The parent probes once and plans the runs (:func:`pipelines.plan_runs`); a
``ProcessPoolExecutor`` with N workers then takes every :func:`pipelines.transcode_run` plus
the one :func:`pipelines.transcode_audio` job, as separate job-queue workers would; the parent
writes the manifests last (:func:`pipelines.write_manifests`). Worker processes are started
and warmed (imports done) before the clock starts, as long-lived queue workers would be; their
CPU seconds (counted once the pool is shut down) include that warm-up.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pipelines import MediaInfo, Run, Rung, plan_runs, transcode_audio, transcode_run, write_manifests

__all__ = ["chunked_transcode", "cpu_seconds", "threads_for"]


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


def _video_job(src: str, out: str, ladder: list[Rung], run: Run, segment: float, info: MediaInfo) -> int:
    written = transcode_run(src, out, ladder, run, segment, info=info)
    return sum(len(segments) for segments in written.values())


def _audio_job(src: str, out: str, segment: float, bitrate: int, info: MediaInfo) -> int:
    return len(transcode_audio(src, out, segment_duration=segment, bitrate=bitrate, info=info))


def chunked_transcode(
    src: Path,
    out: Path,
    ladder: list[Rung],
    info: MediaInfo,
    *,
    workers: int,
    segments_per_run: int,
    segment_duration: float,
    pin: bool = False,
) -> dict[str, Any]:
    """Transcode ``src`` in chunked mode with ``workers`` processes; wall seconds and the plan.

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
            pool.submit(_video_job, str(src), str(out), ladder, run, segment_duration, info) for run in runs
        ]
        jobs.append(pool.submit(_audio_job, str(src), str(out), segment_duration, bitrate, info))
        for job in jobs:
            job.result()
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
    }
