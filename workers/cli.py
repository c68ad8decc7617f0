"""The ``socialflow`` command: serve, worker, migrate, demo, bench, and operator tools.

Settings are read here, once, and passed down. A bad configuration ends the command with one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence

from control_plane.core.settings import ConfigError, Settings, load_settings

__all__ = ["main"]

log = logging.getLogger("socialflow")
#: Seconds between runs of the (idempotent) monthly payouts job.
PAYOUTS_INTERVAL = 6 * 3600.0


def _fail(message: str) -> int:
    print(f"socialflow: error: {message}", file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    import uvicorn

    from control_plane.accounts.rotation import record_signing_key
    from control_plane.app import create_app
    from control_plane.core.heap import settle
    from control_plane.core.logs import configure_logging
    from control_plane.http.clientip import proxy_header_options
    from control_plane.live import LEASE_TTL_S
    from control_plane.services import build_services
    from workers import runtime
    from workers.broker import broker_for
    from workers.inprocess import start_inprocess_workers
    from workers.live import RtmpThread, WhipIngest, build_ingest
    from workers.scheduler import Periodic
    from workers.shutdown import stop_workers
    from workers.startup import check_broker, check_database, check_redis, check_storage

    if args.host:
        settings.host = args.host
    if args.port is not None:
        settings.http_port = args.port
    configure_logging(json_lines=settings.log_json)
    if settings.broker_url:
        check_broker(settings.broker_url)
    if settings.redis_url:
        check_redis(settings.redis_url)
    services = build_services(settings, broker=broker_for(settings))
    check_database(services.db, migrate_if_needed=settings.embedded)
    check_storage(services.store, settings.effective_storage_url)
    record_signing_key(services.db, services.accounts.codec)
    worker = None
    if settings.in_process_broker:
        runtime.configure(
            runtime.WorkerContext(
                settings=settings,
                db=services.db,
                store=services.store,
                kv=services.kv,
                broker=services.broker,
                pubsub=services.pubsub,
            )
        )
        worker = start_inprocess_workers(services.broker, settings.embedded_worker_threads)
    services.jobs.sweep()  # the jobs a stopped process left behind (all of them, on the embedded default)
    sweepers = [
        Periodic(
            "uploads.sweep",
            settings.upload_sweep_interval,
            lambda: services.jobs.enqueue("uploads.sweep"),
            services.kv,
        ).start(),
        # ends the live streams of an ingest that died
        Periodic("live.sweep", LEASE_TTL_S, lambda: services.jobs.enqueue("live.sweep"), services.kv).start(),
        # sends again the jobs of a worker that stopped (Periodic, not a job: no worker may be left)
        Periodic(
            "jobs.sweep", settings.worker_heartbeat_timeout / 2, services.jobs.sweep, services.kv
        ).start(),
        # buffered views and watch time into the database (quick, so not a job)
        Periodic("views.flush", settings.views_flush_interval, services.views.flush, services.kv).start(),
        # the ad counters (Redis, or this process's) into the database, in batches
        Periodic(
            "ads.flush",
            settings.ads_flush_interval,
            lambda: services.ads.flush(services.ad_counters),
            services.kv,
        ).start(),
        # trending hashtags, the videos and accounts new to search, finished watch sessions, and
        # the posts, comments and videos to pre-screen, the recommendation model, notification
        # digests and sweeps, the ranked feed's model
        *(
            Periodic(kind, interval, functools.partial(services.jobs.enqueue, kind), services.kv).start()
            for kind, interval in (
                ("hashtags.trends", settings.trend_interval),
                ("search.refresh", settings.search_refresh_interval),
                ("payouts.run", PAYOUTS_INTERVAL),
                ("views.rollup", settings.views_rollup_interval),
                ("moderation.screen", settings.moderation_screen_interval),
                ("recommendations.train", settings.recommendations_train_interval),
                ("notifications.digests", settings.notification_digest_interval),
                ("notifications.sweep", settings.notification_sweep_interval),
                ("feed.train", settings.feed_train_interval),
            )
        ),
        # notification mailbox rows that no drain job is on its way to (one lost with its queue)
        Periodic(
            "notifications.drain",
            settings.notification_drain_interval,
            services.notifications.mailbox.kick_if_waiting,
            services.kv,
        ).start(),
        # payments upkeep in this process, whose events hub the notifications listen on: failed and
        # held provider events retried, earnings past their hold released, local renewals
        Periodic(
            "payments.tick", settings.payments_tick_interval, services.payments.tick, services.kv
        ).start(),
    ]
    app = create_app(services, whip=WhipIngest(services))
    rtmp_ingest = None
    if settings.embedded:
        rtmp_ingest = RtmpThread(settings.host, settings.rtmp_port, build_ingest(services)).start()
    log.info("serving", extra={"url": settings.effective_public_url, "embedded": settings.embedded})
    # SIGTERM stops like Ctrl-C (uvicorn re-raises the signal it caught once it has shut down).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    interrupted = False
    settle()  # startup's objects out of the collector's full passes (pauses of 100 ms and more)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            **proxy_header_options(settings.trusted_proxies),
        )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if rtmp_ingest is not None:
            rtmp_ingest.stop()
        for sweeper in sweepers:
            sweeper.stop()
        try:  # the in-process buffer lives no longer than this process
            services.views.flush()
        except Exception:  # the database may be what failed; the log says so
            log.exception("last flush of views failed")
        if worker is not None and not stop_workers(worker, services.db, settings.shutdown_grace):
            # Threads still run the jobs just handed back: end now, before any of them writes again.
            logging.shutdown()
            os._exit(130)
        services.close()
    return 130 if interrupted else 0


def cmd_rtmp(args: argparse.Namespace, settings: Settings) -> int:
    """The RTMP ingest as a process of its own: authorizes keys against the database, writes
    LL-HLS and recordings to storage, and enqueues ``live.record`` on the broker."""
    import rtmp
    from control_plane.core.logs import configure_logging
    from control_plane.services import build_services
    from workers.broker import broker_for
    from workers.live import build_ingest
    from workers.startup import check_broker, check_database, check_storage

    if settings.in_process_broker:
        raise ConfigError(
            "`socialflow rtmp` needs SOCIALFLOW_BROKER_URL (redis:// or amqp://); "
            "on the embedded default `socialflow serve` runs the RTMP ingest itself"
        )
    configure_logging(json_lines=settings.log_json)
    check_broker(settings.broker_url or "")
    services = build_services(settings, broker=broker_for(settings))
    try:
        check_database(services.db, migrate_if_needed=False)
        check_storage(services.store, settings.effective_storage_url)
        ingest = build_ingest(services)
        port = args.port if args.port is not None else settings.rtmp_port
        rtmp.run(args.host or settings.host, port, ingest.authorizer, ingest.sinks, ingest.limits)
    finally:
        services.close()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from control_plane.core.db import Database
    from control_plane.core.logs import configure_logging
    from storage import open_store
    from workers.startup import check_broker, check_database, check_storage

    if settings.in_process_broker:
        raise ConfigError(
            "`socialflow worker` needs SOCIALFLOW_BROKER_URL (redis:// or amqp://); "
            "on the embedded default `socialflow serve` runs the workers itself"
        )
    configure_logging(json_lines=settings.log_json)
    check_broker(settings.broker_url or "")
    db = Database(settings.effective_database_url)
    check_database(db, migrate_if_needed=False)
    db.dispose()
    check_storage(
        open_store(settings.effective_storage_url, secret=settings.secret_bytes),
        settings.effective_storage_url,
    )
    # Worker processes share their metrics through files; the parent serves them.
    if args.metrics_port:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="socialflow-metrics-"))
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(args.metrics_port, addr=settings.host, registry=registry)
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    from workers.jobs import QUEUES

    queues = [q for q in (args.queues.split(",") if args.queues else QUEUES) if q]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ConfigError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    argv = [
        "workers.entry:boot",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        "--skip-logging",
        "--queues",
        *queues,
    ]
    return int(dramatiq_main(make_argument_parser().parse_args(argv)) or 0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database, then create the S3 bucket when it is missing."""
    from control_plane.core import migrate
    from control_plane.core.db import Database
    from workers.startup import check_database, prepare_storage

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    try:
        check_database(db, migrate_if_needed=True, wait=args.wait)
        print(f"database at revision {migrate.current_revision(db)}")
    finally:
        db.dispose()
    print(prepare_storage(settings.effective_storage_url, settings.secret_bytes, wait=args.wait))
    return 0


def cmd_set_role(args: argparse.Namespace, settings: Settings) -> int:
    from control_plane.accounts import AccountService, TokenCodec
    from control_plane.accounts.twofactor import TwoFactor
    from control_plane.core.db import Database
    from workers.startup import check_database

    db = Database(settings.effective_database_url)
    try:
        check_database(db, migrate_if_needed=settings.embedded)
        codec = TokenCodec(settings.secret_bytes, issuer=settings.effective_public_url, ttl=60)
        accounts = AccountService(db, codec, refresh_ttl=60, twofactor=TwoFactor(settings.secret_bytes))
        user = accounts.set_role(args.username, args.role)
        print(f"{user.username} is now {user.role}")
    except Exception as exc:
        if isinstance(getattr(exc, "code", None), str):
            raise ConfigError(str(exc)) from None
        raise
    finally:
        db.dispose()
    return 0


def cmd_train_feed(args: argparse.Namespace, settings: Settings) -> int:
    """Fit the ranked feed's model now (what the periodic ``feed.train`` job does) and print
    its figures as JSON."""
    import json

    from control_plane.core.db import Database
    from control_plane.core.kv import open_kv
    from control_plane.feed import build_feed
    from storage import open_store
    from workers.startup import check_database

    db = Database(settings.effective_database_url)
    kv = open_kv(settings.redis_url)
    try:
        check_database(db, migrate_if_needed=settings.embedded)
        store = open_store(settings.effective_storage_url, secret=settings.secret_bytes)
        print(json.dumps(build_feed(settings, db, kv, store, lambda *a, **k: None).train()))
    finally:
        kv.close()
        db.dispose()
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from workers.demo import run_demo

    return run_demo(settings)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from benchmarks import run_benchmark

    extra, output = list(args.extra), args.output
    # `--output DIR` may also come after the name, where argparse leaves it among the extras.
    if "--output" in extra:
        at = extra.index("--output")
        if at + 1 >= len(extra):
            raise ConfigError("--output needs a folder")
        output = extra[at + 1]
        del extra[at : at + 2]
    return run_benchmark(args.name, output, extra)


def cmd_fingerprint(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from fingerprint import FingerprintError, LocalLibrary

    index_dir = args.index or str(settings.data_dir / "fingerprints")
    try:
        library = LocalLibrary(index_dir)
        if args.action == "index":
            added = library.index_paths(args.paths)
            print(f"indexed {added} new file(s) into {index_dir}", file=sys.stderr)
            return 0
        for row in library.match_files(args.paths, min_duration=args.min_duration):
            print(json.dumps(row), flush=True)
    except FingerprintError as exc:
        raise ConfigError(str(exc)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    from control_plane.accounts.models import ROLES

    parser = argparse.ArgumentParser(prog="socialflow", description="Social Flow media platform.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="run the API (and, on the embedded default, the workers) in one process"
    )
    serve.add_argument("--host", help="bind address (default SOCIALFLOW_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default SOCIALFLOW_HTTP_PORT or 8000)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run Dramatiq worker processes for the configured broker")
    worker.add_argument("--queues", help="comma-separated queues to consume (default: all)")
    worker.add_argument(
        "--processes", type=int, default=max(1, (os.cpu_count() or 1)), help="worker processes"
    )
    worker.add_argument("--threads", type=int, default=2, help="threads per process")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve the workers' Prometheus metrics on this port (0: off)",
    )
    worker.set_defaults(func=cmd_worker)

    ingest = sub.add_parser("rtmp", help="run the RTMP live ingest as its own process (production)")
    ingest.add_argument("--host", help="bind address (default SOCIALFLOW_HOST or 127.0.0.1)")
    ingest.add_argument("--port", type=int, help="RTMP port (default SOCIALFLOW_RTMP_PORT or 1935)")
    ingest.set_defaults(func=cmd_rtmp)

    mig = sub.add_parser(
        "migrate", help="apply the database migrations and create the S3 bucket when it is missing"
    )
    mig.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="S",
        help="try the database and the blob store again for up to S seconds (they may be starting)",
    )
    mig.set_defaults(func=cmd_migrate)

    role = sub.add_parser("set-role", help="give a user a role (operator tool)")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=cmd_set_role)

    fp = sub.add_parser("fingerprint", help="index media files as references, or match files against them")
    fp_sub = fp.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("index", "add media files or folders to the reference index"),
        ("match", "match files against the index; prints JSON lines, one a match"),
    ):
        sp = fp_sub.add_parser(action, help=text)
        sp.add_argument("paths", nargs="+", metavar="PATH")
        sp.add_argument("--index", help="index folder (default: <data dir>/fingerprints)")
        if action == "match":
            sp.add_argument(
                "--min-duration",
                type=float,
                default=0.0,
                metavar="S",
                help="report only identifications longer than S seconds (default 0: every one; "
                "platform claims need more than 7)",
            )
        sp.set_defaults(func=cmd_fingerprint)

    train = sub.add_parser("train-feed", help="fit the ranked feed's model now; prints its AUC as JSON")
    train.set_defaults(func=cmd_train_feed)

    demo = sub.add_parser("demo", help="an end-to-end run on the embedded default")
    demo.set_defaults(func=cmd_demo, needs_settings=False)

    bench = sub.add_parser("bench", help="run a benchmark; writes JSON and a PNG plot")
    bench.add_argument("name", help="benchmark name (see benchmarks/)")
    bench.add_argument("--output", default="bench-results", help="folder for the JSON and PNG results")
    bench.add_argument("extra", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")
    bench.set_defaults(func=cmd_bench, needs_settings=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        # demo and bench run their own private platforms: they must not touch ./.socialflow.
        settings = load_settings() if getattr(args, "needs_settings", True) else Settings.model_construct()
        return func(args, settings)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
