"""``socialflow bench upload``: tus upload throughput and server memory, ours beside tus-node.

One run measures, with the same tuspy client against each server on loopback:

* one upload of ``--size`` bytes (default 1 GiB) with each of ``--chunk-sizes`` (5 and 50 MiB);
* ``--concurrency`` (8) uploads at once of ``size / concurrency`` bytes each;
* the raw disk speed of the same folder (the same bytes written in 50 MiB writes, each fsynced),
  the limit any server can reach while keeping what it acknowledged;
* our server again at ``size / 4`` with the largest chunk size, to show memory is flat.

Our server is a real ``socialflow serve`` subprocess on the embedded default (a fresh temporary
data dir and free ports per case); the peer is the official Node server (``@tus/server`` with
``@tus/file-store``), installed into ``--node-dir`` with npm and run from a script written there.
Every case starts a fresh server, so each peak RSS belongs to that case alone (``--reuse-server``
keeps one per kind instead, for quick runs). Each case shape runs on both servers back to back.
Results go to
``upload.json`` and ``upload.png`` in the output folder. MB/s are decimal (10^6 bytes per second);
memory is MiB. Targets are reported with pass/fail, never asserted.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import MIB, BenchError, PeakRss, grouped_bars, parse_size, write_json
from benchmarks._upload_servers import OURS, PEER, ServerSpec, ensure_node_server, start_server

__all__ = [
    "Case",
    "CaseResult",
    "build_cases",
    "disk_limit",
    "main",
    "measure",
    "plot_results",
    "run_case",
    "run_cases",
    "targets",
]

log = logging.getLogger("benchmarks.upload")

DISK_WRITE = 50 * MIB
METADATA = {"filename": "bench.bin", "title": "upload benchmark"}
#: Flat memory: the full-size peak may exceed the quarter-size peak by this fraction or these MiB.
FLAT_SLACK = 0.10
FLAT_SLACK_MIB = 16.0


@dataclass(frozen=True)
class Case:
    """One measurement: ``uploads`` uploads at once of ``upload_size`` bytes each."""

    name: str
    server: str
    upload_size: int
    uploads: int
    chunk_size: int

    @property
    def total_bytes(self) -> int:
        return self.upload_size * self.uploads


@dataclass
class CaseResult:
    """A case's outcome. ``seconds`` from the first creation request to the last byte acknowledged."""

    case: Case
    seconds: float | None = None
    mb_per_s: float | None = None
    peak_rss_mib: float | None = None
    idle_rss_mib: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self.case) | {"total_bytes": self.case.total_bytes}
        data |= {k: v for k, v in asdict(self).items() if k not in ("case", "extra")}
        return data | self.extra


def build_cases(
    size: int, chunk_sizes: list[int], concurrency: int, concurrent_chunk: int, servers: list[str]
) -> list[Case]:
    """The run's cases, each shape run on every server in turn before the next shape.

    Interleaving keeps the servers' figures comparable on a machine whose load drifts during the
    run. Sizes in bytes; ``servers`` names from ``OURS``/``PEER``. The quarter-size case (for the
    flat-memory target) runs on ours only, last.
    """
    shapes = [(f"single-{chunk // MIB or chunk}MiB", size, 1, chunk) for chunk in chunk_sizes]
    shapes.append((f"concurrent-{concurrency}", max(1, size // concurrency), concurrency, concurrent_chunk))
    cases = [
        Case(name, server, each, count, chunk) for name, each, count, chunk in shapes for server in servers
    ]
    if OURS in servers:
        chunk = max(chunk_sizes)
        cases.append(Case(f"single-{chunk // MIB or chunk}MiB-quarter", OURS, max(1, size // 4), 1, chunk))
    return cases


def _source(workdir: Path, size: int) -> Path:
    """A file of ``size`` random bytes under ``workdir`` (made once per size)."""
    path = workdir / f"source-{size}.bin"
    if not path.exists():
        with open(path, "wb") as out:
            left = size
            while left:
                piece = min(left, 16 * MIB)
                out.write(os.urandom(piece))
                left -= piece
    return path


def disk_limit(source: Path, folder: Path, write_size: int = DISK_WRITE) -> dict[str, float | int]:
    """Copy ``source`` into ``folder`` in ``write_size`` writes, fsync after each; MB/s and seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "disk-limit.bin"
    started = time.perf_counter()
    with open(source, "rb") as src, open(target, "wb") as out:
        while piece := src.read(write_size):
            out.write(piece)
            out.flush()
            os.fsync(out.fileno())
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    return {"bytes": size, "write_size": write_size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds}


def _disk_summary(runs: list[dict[str, float | int]]) -> dict[str, Any]:
    """The disk limit is the best of the runs (before and after the cases); all runs are kept."""
    best = max(runs, key=lambda run: run["mb_per_s"])
    return dict(best) | {"runs": runs}


def _upload_one(spec: ServerSpec, source: Path, chunk_size: int) -> None:
    from tusclient.client import TusClient

    client = TusClient(spec.upload_url, headers=spec.headers)
    uploader = client.uploader(file_path=str(source), chunk_size=chunk_size, metadata=METADATA)
    uploader.upload()
    size = source.stat().st_size
    if uploader.offset != size:
        raise BenchError(f"{spec.name} acknowledged {uploader.offset} of {size} bytes")
    stored = spec.stored_offset(str(uploader.url))
    if stored != size:
        raise BenchError(f"{spec.name} reports offset {stored} for a finished {size}-byte upload")


def measure(case: Case, spec: ServerSpec, workdir: Path) -> CaseResult:
    """Run ``case`` against a running server: wall time and the server's peak RSS meanwhile."""
    result = CaseResult(case)
    source = _source(workdir, case.upload_size)
    try:
        with PeakRss(spec.pid) as rss:
            result.idle_rss_mib = rss.start / MIB
            started = time.perf_counter()
            with ThreadPoolExecutor(case.uploads) as pool:
                jobs = [pool.submit(_upload_one, spec, source, case.chunk_size) for _ in range(case.uploads)]
                for job in jobs:
                    job.result()
            result.seconds = time.perf_counter() - started
        result.peak_rss_mib = rss.peak / MIB
        result.mb_per_s = case.total_bytes / 1e6 / result.seconds
    except Exception as exc:  # a failed case is reported in the JSON, and the run goes on
        log.exception("case %s on %s failed", case.name, case.server)
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def run_case(case: Case, workdir: Path, node_dir: Path) -> CaseResult:
    """Start a fresh server for ``case``, measure it, stop it and delete its data."""
    data_dir = workdir / f"{case.server}-{case.name}"
    try:
        with start_server(
            case.server, data_dir, node_dir, uploads=case.uploads, upload_size=case.upload_size
        ) as spec:
            return measure(case, spec, workdir)
    except Exception as exc:  # a server that cannot start or sign in fails its case, not the run
        log.error("%s on %s: %s", case.name, case.server, exc)
        return CaseResult(case, error=f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_cases(cases: list[Case], workdir: Path, node_dir: Path, *, reuse: bool) -> list[CaseResult]:
    """Every case on a fresh server, or with ``reuse`` on one server per kind kept for the run.

    Reusing saves the start-up of a server per case, but then each peak RSS also holds what
    earlier cases left behind, and our server's uploads stay on disk until the run ends.
    """
    if not reuse:
        return [_logged(run_case(case, workdir, node_dir)) for case in cases]
    results: list[CaseResult] = []
    uploads = max(case.uploads for case in cases)
    size = max(case.upload_size for case in cases)
    with ExitStack() as stack:
        specs: dict[str, ServerSpec | Exception] = {}
        for case in cases:
            if case.server not in specs:
                try:
                    server = start_server(
                        case.server, workdir / case.server, node_dir, uploads=uploads, upload_size=size
                    )
                    specs[case.server] = stack.enter_context(server)
                except Exception as exc:  # as in run_case: this server's cases fail, the run goes on
                    specs[case.server] = exc
            spec = specs[case.server]
            if isinstance(spec, Exception):
                results.append(_logged(CaseResult(case, error=f"{type(spec).__name__}: {spec}")))
            else:
                results.append(_logged(measure(case, spec, workdir)))
    return results


def _logged(result: CaseResult) -> CaseResult:
    log.info("%s on %s -> %s", result.case.name, result.case.server, result.to_json())
    return result


def _find(results: list[CaseResult], server: str, name: str) -> CaseResult | None:
    return next((r for r in results if r.case.server == server and r.case.name == name), None)


def targets(results: list[CaseResult], disk_mb_per_s: float, largest_chunk_case: str) -> list[dict[str, Any]]:
    """Each target with the figures it compares and ``passed`` (None when it could not be judged)."""
    found: list[dict[str, Any]] = []
    for ours in (r for r in results if r.case.server == OURS and not r.case.name.endswith("-quarter")):
        peer = _find(results, PEER, ours.case.name)
        judged = ours.mb_per_s is not None and peer is not None and peer.mb_per_s is not None
        found.append(
            {
                "id": f"as-fast-as-node:{ours.case.name}",
                "target": f"{ours.case.name}: throughput at least the Node server's",
                "ours_mb_per_s": ours.mb_per_s,
                "peer_mb_per_s": peer.mb_per_s if peer else None,
                "passed": (ours.mb_per_s or 0) >= (peer.mb_per_s or 0) if judged and peer else None,
            }
        )
    big = _find(results, OURS, largest_chunk_case)
    found.append(
        {
            "id": f"disk-70pct:{largest_chunk_case}",
            "target": f"{largest_chunk_case}: at least 70% of the disk limit",
            "ours_mb_per_s": big.mb_per_s if big else None,
            "disk_mb_per_s": disk_mb_per_s,
            "ratio": (big.mb_per_s / disk_mb_per_s) if big and big.mb_per_s else None,
            "passed": big.mb_per_s >= 0.7 * disk_mb_per_s if big and big.mb_per_s else None,
        }
    )
    quarter = _find(results, OURS, largest_chunk_case + "-quarter")
    flat: bool | None = None
    if big and quarter and big.peak_rss_mib is not None and quarter.peak_rss_mib is not None:
        flat = big.peak_rss_mib - quarter.peak_rss_mib <= max(
            FLAT_SLACK_MIB, FLAT_SLACK * quarter.peak_rss_mib
        )
    found.append(
        {
            "id": "flat-memory",
            "target": "flat memory: peak RSS at size not above peak RSS at size/4 "
            f"by more than max({FLAT_SLACK_MIB:g} MiB, {FLAT_SLACK:.0%})",
            "peak_rss_mib_quarter": quarter.peak_rss_mib if quarter else None,
            "peak_rss_mib_full": big.peak_rss_mib if big else None,
            "passed": flat,
        }
    )
    return found


def plot_results(report: dict[str, Any], path: Path) -> None:
    """Two panels: MB/s per case and server with the disk limit as a line; peak RSS per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = report["cases"]
    groups = list(dict.fromkeys(c["name"] for c in cases))
    servers = list(dict.fromkeys(c["server"] for c in cases))

    def column(key: str) -> dict[str, list[float | None]]:
        table = {(c["server"], c["name"]): c[key] for c in cases}
        return {s: [table.get((s, g)) for g in groups] for s in servers}

    figure, (speed, memory) = plt.subplots(1, 2, figsize=(12, 4.5))
    size = f"{report['size'] / MIB:g} MiB"
    grouped_bars(speed, groups, column("mb_per_s"), ylabel="MB/s", title=f"tus upload throughput ({size})")
    speed.axhline(report["disk_limit"]["mb_per_s"], color="black", linestyle="--", label="disk (fsync) limit")
    speed.legend(fontsize=8)
    grouped_bars(memory, groups, column("peak_rss_mib"), ylabel="MiB", title="server peak RSS")
    memory.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialflow bench upload", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=parse_size, default=parse_size("1GiB"), help="bytes of the large upload"
    )
    parser.add_argument("--chunk-sizes", default="5MiB,50MiB", help="comma-separated PATCH sizes")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads at once in the concurrent case")
    parser.add_argument("--concurrent-chunk", type=parse_size, default=parse_size("5MiB"))
    parser.add_argument(
        "--output", type=Path, help="results folder (when given after the name, where argparse leaves it)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the Node tus server")
    parser.add_argument(
        "--reuse-server",
        action="store_true",
        help="one server per kind for the whole run (faster start; peak RSS then includes earlier cases)",
    )
    parser.add_argument("--workdir", type=Path, help="folder for the servers' data (default: a temp dir)")
    parser.add_argument(
        "--node-dir",
        type=Path,
        default=Path.home() / ".cache" / "socialflow-bench" / "node",
        help="where npm installs @tus/server and @tus/file-store",
    )
    return parser


def main(argv: list[str], output: Path) -> int:
    """Run the benchmark; write ``upload.json`` and ``upload.png`` into ``output``. 0 when all ran."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    if args.output is not None:
        output = args.output.resolve()
        output.mkdir(parents=True, exist_ok=True)
    try:
        chunk_sizes = [parse_size(c) for c in args.chunk_sizes.split(",") if c.strip()]
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    if args.size < 1 or not chunk_sizes or args.concurrency < 1:
        log.error("--size, --chunk-sizes and --concurrency must be positive")
        return 2
    servers = [OURS]
    peer_error: str | None = None
    peer_versions: dict[str, str] = {}
    if not args.no_peer:
        try:
            peer_versions = ensure_node_server(args.node_dir)
            servers.append(PEER)
        except BenchError as exc:
            peer_error = str(exc)
            log.error("the Node tus server is unavailable: %s", exc)
    workdir = Path(tempfile.mkdtemp(prefix="socialflow-bench-upload-", dir=args.workdir))
    try:
        source = _source(workdir, args.size)
        disk_runs = [disk_limit(source, workdir / "disk")]
        log.info("disk limit: %.1f MB/s", disk_runs[0]["mb_per_s"])
        cases = build_cases(args.size, chunk_sizes, args.concurrency, args.concurrent_chunk, servers)
        results = run_cases(cases, workdir, args.node_dir, reuse=args.reuse_server)
        disk_runs.append(disk_limit(source, workdir / "disk"))
        log.info("disk limit after the cases: %.1f MB/s", disk_runs[1]["mb_per_s"])
        disk = _disk_summary(disk_runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    largest = f"single-{max(chunk_sizes) // MIB or max(chunk_sizes)}MiB"
    report = {
        "benchmark": "upload",
        "units": {"mb_per_s": "10^6 bytes per second", "rss": "MiB", "seconds": "wall clock"},
        "size": args.size,
        "chunk_sizes": chunk_sizes,
        "concurrency": args.concurrency,
        "concurrent_chunk": args.concurrent_chunk,
        "fresh_server_per_case": not args.reuse_server,
        "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
        "peer": {
            "name": "tus-node (@tus/server + @tus/file-store)",
            "ran": PEER in servers,
            "error": peer_error,
        }
        | peer_versions,
        "disk_limit": disk,
        "cases": [r.to_json() for r in results],
        "targets": targets(results, float(disk["mb_per_s"]), largest),
    }
    write_json(output / "upload.json", report)
    plot_results(report, output / "upload.png")
    failed = peer_error is not None or any(r.error for r in results)
    return 1 if failed else 0
