"""``socialflow bench views``: heartbeat ingestion, heartbeat-to-analytics lag and the rollup.

One run, on PostgreSQL and Redis (a fresh database on ``--postgres``, dropped afterwards; Redis
database ``--redis`` emptied first):

* **ingestion**: heartbeats per second that one API process (``socialflow serve`` in production
  form: PostgreSQL, Redis, the periodic flush) answers, driven over loopback HTTP by
  ``--clients`` client processes for ``--seconds``; beside it, in process and without HTTP, the
  Redis buffer (one Lua script a heartbeat) against the naive alternative, one PostgreSQL
  ``INSERT ... ON CONFLICT`` of the session per heartbeat;
* **lag**: seconds from the heartbeat that makes a view count to that view in
  ``GET /api/v1/videos/{id}/analytics`` (polled every 50 ms), a few times;
* **recommendations**: the offline table (recall@10 and NDCG@10 of popularity, ALS, content only,
  co-watch and the blend, on ``benchmarks._recs_eval``'s synthetic set split by time; targets:
  the blend at least 2× popularity on recall@10 and above each of its parts), and the serve time
  of ``GET /api/v1/recommendations``'s service call over that set (target p99 < 20 ms);
* **rollup**: seconds to roll the sessions of ``10,000,000 × --scale`` heartbeats (24 a session)
  into the retention histogram (``views.rollup``), beside the naive design's one ``GROUP BY``
  over every raw heartbeat row kept in PostgreSQL, both loaded with COPY.

Targets (reported, never asserted): ingestion ≥ 5,000 heartbeats/s on one API process.
Results: ``views.json`` and ``views.png``.
"""

from __future__ import annotations

import argparse
import io
import logging
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks._common import (
    ServerProcess,
    drop_database,
    free_port,
    grouped_bars,
    scratch_database,
    write_json,
)
from control_plane.core import migrate
from control_plane.core.db import Database, new_id
from control_plane.views.buffer import Beat, RedisViewBuffer, Rules
from control_plane.views.rollup import ViewRollup

__all__ = ["main"]

log = logging.getLogger("benchmarks.views")

HEARTBEATS_FULL = 10_000_000
BEATS_PER_SESSION = 24
TARGET_PER_SECOND = 5000
#: Player sessions each client task cycles through (each then beats every few seconds).
PLAYERS_PER_WORKER = 400
COUNTRIES = ("US", "GB", "DE", "FR", "BR", "IN", "JP", "ZZ")
DEVICES = ("desktop", "mobile", "tablet", "tv")


def _fixture(db: Database, videos: int) -> tuple[str, list[str]]:
    """An owner and ``videos`` ready public videos of theirs (rows only)."""
    from control_plane.accounts.models import User
    from control_plane.videos.models import Video

    owner = new_id()
    ids = [new_id() for _ in range(videos)]
    with db.session() as session:
        session.add(User(id=owner, username="benchowner", email="bench@example.com", password_hash="x"))
        session.flush()
        session.add_all(
            Video(id=v, owner_id=owner, title=f"video {i}", status="ready", duration=600.0)
            for i, v in enumerate(ids)
        )
    return owner, ids


# -- ingestion over HTTP -------------------------------------------------------------------------


def _client(port: int, videos: list[str], seconds: float, concurrency: int, seed: int, results: Any) -> None:
    """One client process: ``concurrency`` keep-alive connections, each cycling through players of
    its own (so each session beats every few seconds, as players do), on the lean load generator."""
    import json

    from benchmarks._http_load import drive, post_json

    rng = random.Random(seed)
    players = [
        [(f"bench-{seed}-{n}-{k}", rng.choice(videos)) for k in range(PLAYERS_PER_WORKER)]
        for n in range(concurrency)
    ]
    watched: dict[tuple[int, int], float] = {}
    host = f"127.0.0.1:{port}"
    agent = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench"}

    def make(n: int, turn: int) -> bytes:
        k = turn % PLAYERS_PER_WORKER
        session, video = players[n][k]
        seconds_watched = watched[(n, k)] = watched.get((n, k), 0.0) + 5.0
        body = {"session": session, "position": seconds_watched, "watched_seconds": seconds_watched}
        return post_json(host, f"/api/v1/videos/{video}/views", json.dumps(body).encode(), agent)

    result = drive("127.0.0.1", port, concurrency, make, seconds)
    results.put((result.ok, result.failed))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_http(
    port: int, server_pid: int, videos: list[str], *, clients: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_client, args=(port, videos, seconds, concurrency, n, results))
        for n in range(clients)
    ]
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds(server_pid)
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    counts = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server_pid) - cpu_before
    ok = sum(c[0] for c in counts)
    return {
        "heartbeats": ok,
        "refused": sum(c[1] for c in counts),
        "seconds": round(elapsed, 2),
        "per_second": round(ok / seconds, 1),
        "server_cpu_seconds": round(cpu, 2),
        "server_cpu_ms_per_heartbeat": round(1000 * cpu / max(ok, 1), 3),
        # what one fully busy core would take at that CPU cost, whatever else shares the machine
        "per_second_per_core": round(ok / cpu, 1) if cpu else None,
        "client_processes": clients,
        "concurrency_per_client": concurrency,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


# -- ingestion in process: the Redis buffer against one PostgreSQL upsert a heartbeat ------------


def measure_in_process(
    db: Database, redis_url: str, videos: list[str], owner: str, count: int
) -> dict[str, Any]:
    buffer = RedisViewBuffer(redis_url, Rules(min_gap=0.0), prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    now = time.time()
    beats = [
        Beat(
            session=f"s{i % 5000}",
            video_id=videos[i % len(videos)],
            owner_id=owner,
            user_id=None,
            viewer=f"v{i % 5000}",
            country="US",
            device="desktop",
            now=now + i * 0.001,
            day="2026-12-07",
            position=float(i),
            watched=float(i),
            threshold=10.0,
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    for beat in beats:
        buffer.beat(beat)
    redis_seconds = time.perf_counter() - started
    buffer.close()
    upsert = sa.text(
        "INSERT INTO view_sessions (id, video_id, owner_id, user_id, country, device, started_at, last_at,"
        " watched, max_position, heartbeats, counted, rolled) VALUES (:id, :video, :owner, NULL, 'US',"
        " 'desktop', now(), now(), :w, :w, 1, false, false) ON CONFLICT (id) DO UPDATE SET"
        " last_at = now(), watched = view_sessions.watched + 5, max_position = excluded.max_position,"
        " heartbeats = view_sessions.heartbeats + 1"
    )
    started = time.perf_counter()
    with db.engine.connect() as conn:
        for beat in beats:
            conn.execute(
                upsert, {"id": "n" + beat.session, "video": beat.video_id, "owner": owner, "w": beat.watched}
            )
            conn.commit()
    naive_seconds = time.perf_counter() - started
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM view_sessions"))
    return {
        "heartbeats": count,
        "redis_buffer_per_second": round(count / redis_seconds, 1),
        "postgres_upsert_per_second": round(count / naive_seconds, 1),
    }


# -- lag -------------------------------------------------------------------------------------------


def measure_lag(base: str, video: str, token: str, rounds: int) -> dict[str, Any]:
    import httpx

    lags = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10.0) as client:
        for n in range(rounds):
            seen = client.get(f"/api/v1/videos/{video}/analytics", headers=headers).json()["views"]
            session = f"lag-{n}-{uuid.uuid4().hex[:8]}"
            address = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) lag"}
            for watched in (0.0, 5.0):
                client.post(
                    f"/api/v1/videos/{video}/views",
                    json={"session": session, "position": watched, "watched_seconds": watched},
                    headers=address | ua,
                )
                time.sleep(5.0 if watched == 0.0 else 0.0)
            time.sleep(5.0)
            r = client.post(
                f"/api/v1/videos/{video}/views",
                json={"session": session, "position": 10.0, "watched_seconds": 10.0},
                headers=address | ua,
            )
            assert r.json()["counted"], r.text
            counted_at = time.perf_counter()
            while client.get(f"/api/v1/videos/{video}/analytics", headers=headers).json()["views"] <= seen:
                time.sleep(0.05)
                if time.perf_counter() - counted_at > 60:
                    raise RuntimeError("the view never reached the analytics API")
            lags.append(time.perf_counter() - counted_at)
    return {
        "rounds": rounds,
        "median_s": round(statistics.median(lags), 3),
        "max_s": round(max(lags), 3),
    }


# -- rollup ----------------------------------------------------------------------------------------


def _copy(db: Database, table: str, columns: str, rows: Any) -> None:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                buffer.write("\t".join(row) + "\n")
                if buffer.tell() > 1 << 20:
                    copy.write(buffer.getvalue())
                    buffer.seek(0)
                    buffer.truncate()
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def measure_rollup(db: Database, videos: list[str], owner: str, heartbeats: int) -> dict[str, Any]:
    rng = random.Random(19)
    sessions = max(1, heartbeats // BEATS_PER_SESSION)
    start = datetime(2026, 12, 1, tzinfo=UTC)

    def session_rows() -> Any:
        for i in range(sessions):
            last = start + timedelta(seconds=i % 86400)
            position = str(float(rng.randint(0, 600)))
            where = (rng.choice(COUNTRIES), rng.choice(DEVICES))
            yield (
                uuid.uuid4().hex, rng.choice(videos), owner, "\\N", *where, last.isoformat(),
                last.isoformat(), str(BEATS_PER_SESSION * 5.0), position, str(BEATS_PER_SESSION), "t", "f",
            )  # fmt: skip

    started = time.perf_counter()
    _copy(
        db,
        "view_sessions",
        "id, video_id, owner_id, user_id, country, device, started_at, last_at, watched, max_position,"
        " heartbeats, counted, rolled",
        session_rows(),
    )
    load_sessions = time.perf_counter() - started
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE view_sessions")
    started = time.perf_counter()
    result = ViewRollup(db, idle=1800, retention_days=3650).run(start + timedelta(days=3))
    rollup_seconds = time.perf_counter() - started
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE UNLOGGED TABLE raw_heartbeats (video_id varchar(32), at timestamptz, country varchar(2),"
            " device varchar(16), seconds real)"
        )

    def heartbeat_rows() -> Any:
        for i in range(heartbeats):
            at = start + timedelta(seconds=(i * 7) % (3 * 86400))
            yield (
                videos[i % len(videos)],
                at.isoformat(),
                COUNTRIES[i % len(COUNTRIES)],
                DEVICES[i % 4],
                "5",
            )

    started = time.perf_counter()
    _copy(db, "raw_heartbeats", "video_id, at, country, device, seconds", heartbeat_rows())
    load_raw = time.perf_counter() - started
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE raw_heartbeats")
    started = time.perf_counter()
    with db.engine.begin() as conn:
        groups = conn.exec_driver_sql(
            "SELECT video_id, date_trunc('day', at), country, device, sum(seconds) FROM raw_heartbeats"
            " GROUP BY 1, 2, 3, 4"
        ).fetchall()
    naive_seconds = time.perf_counter() - started
    return {
        "heartbeats": heartbeats,
        "sessions": sessions,
        "rolled": result["rolled"],
        "rollup_seconds": round(rollup_seconds, 2),
        "load_sessions_seconds": round(load_sessions, 2),
        "naive_group_by_seconds": round(naive_seconds, 2),
        "naive_groups": len(groups),
        "load_raw_seconds": round(load_raw, 2),
        "rollup_seconds_per_10m": round(rollup_seconds * HEARTBEATS_FULL / heartbeats, 1),
        "naive_seconds_per_10m": round(naive_seconds * HEARTBEATS_FULL / heartbeats, 1),
    }


# -- recommendations -----------------------------------------------------------------------------


def measure_recommendations(db: Database, users: int, items: int, rounds: int) -> dict[str, Any]:
    """The offline table on the synthetic set, then the service's serve time: the same set loaded
    as videos and watch sessions, trained by the service, and ``for_user`` timed."""
    from benchmarks._recs_eval import evaluate, synthesize
    from control_plane.accounts.models import User
    from control_plane.moderation.access import Audience
    from control_plane.recommendations import RecommendationService
    from control_plane.videos.models import Video
    from storage import open_store

    data = synthesize(users=users, items=items)
    offline = evaluate(data)
    log.info("offline: %s", offline["methods"])
    owners = [new_id() for _ in range(50)]
    ids = {item: new_id() for item in data.items}
    people = {f"u{u}": new_id() for u in range(users)}
    with db.session() as session:
        session.add_all(
            User(id=o, username=f"maker{n}", email=f"maker{n}@example.com", password_hash="x")
            for n, o in enumerate(owners)
        )
        session.flush()
        session.add_all(
            Video(id=ids[item], owner_id=owners[n % len(owners)], title=text, status="ready", duration=900.0)
            for n, (item, text) in enumerate(zip(data.items, data.texts, strict=True))
        )
    totals: dict[tuple[str, str], float] = {}
    for user, item, seconds, _at in data.events:
        totals[(user, item)] = totals.get((user, item), 0.0) + seconds
    now = datetime.now(UTC).isoformat()
    _copy(
        db,
        "view_sessions",
        "id, video_id, owner_id, user_id, country, device, started_at, last_at, watched, max_position,"
        " heartbeats, counted, rolled",
        (
            (uuid.uuid4().hex, ids[item], owners[0], people[user], "US", "desktop", now, now,
             str(seconds), "5", "3", "t", "f")
            for (user, item), seconds in totals.items()
        ),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as blobs:
        service = RecommendationService(db, open_store(f"file://{blobs}", secret=b"x" * 32))
        started = time.perf_counter()
        size = service.train()
        train_seconds = time.perf_counter() - started
        rng = random.Random(7)
        # distinct viewers, so the first pass ranks afresh for each (the warm-up viewer is apart)
        chosen = rng.sample(range(users - 1), min(rounds, users - 1))
        audiences = [Audience(people[f"u{u}"], country="US", adult=True) for u in chosen]
        service.for_user(Audience(people[f"u{users - 1}"], country="US", adult=True), 20)  # loads the model
        load_before = os.getloadavg()[0]
        cold = _timed(service, audiences)  # each viewer's first request: candidates ranked afresh
        warm = _timed(service, audiences)  # again within a minute: the ranked candidates cached
    return {
        "offline": offline,
        "serve": {
            "model": size,
            "train_seconds": round(train_seconds, 2),
            "rounds": rounds,
            **cold,
            "warm": warm,
            "target_p99_ms": 20,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
    }


def _timed(service: Any, audiences: list[Any]) -> dict[str, float]:
    spent, cpu = [], []
    for audience in audiences:
        started, started_cpu = time.perf_counter(), time.process_time()
        service.for_user(audience, 20)
        spent.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    spent.sort()
    cpu.sort()
    return {
        "p50_ms": round(spent[len(spent) // 2], 2),
        "p99_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.99))], 2),
        "cpu_p50_ms": round(cpu[len(cpu) // 2], 2),
        "cpu_p99_ms": round(cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))], 2),
    }


# -- the run ---------------------------------------------------------------------------------------


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right, third) = plt.subplots(1, 3, figsize=(17, 4.6))
    ingest = report["ingestion"]
    grouped_bars(
        left,
        ["one API process\n(HTTP)", "Redis buffer\n(in process)", "PostgreSQL upsert\n(in process)"],
        {
            "heartbeats/s": [
                ingest["http"]["per_second"],
                ingest["in_process"]["redis_buffer_per_second"],
                ingest["in_process"]["postgres_upsert_per_second"],
            ]
        },
        ylabel="heartbeats per second",
        title=f"Ingestion (target ≥ {TARGET_PER_SECOND:,}/s on one API process)\n"
        f"server CPU {ingest['http']['server_cpu_ms_per_heartbeat']} ms a heartbeat",
    )
    left.axhline(TARGET_PER_SECOND, color="grey", linestyle="--", linewidth=1)
    rollup = report["rollup"]
    grouped_bars(
        right,
        [f"{rollup['heartbeats']:,} heartbeats", "scaled to 10M"],
        {
            "rollup of sessions": [rollup["rollup_seconds"], rollup["rollup_seconds_per_10m"]],
            "GROUP BY raw heartbeats": [rollup["naive_group_by_seconds"], rollup["naive_seconds_per_10m"]],
        },
        ylabel="seconds",
        title=f"Rollup; lag heartbeat → analytics: median {report['lag']['median_s']} s",
    )
    right.legend(fontsize=8)
    methods = report["recommendations"]["offline"]["methods"]
    grouped_bars(
        third,
        list(methods),
        {
            "recall@10 (×1000)": [m["recall@10"] * 1000 for m in methods.values()],
            "NDCG@10 (×1000)": [m["ndcg@10"] * 1000 for m in methods.values()],
        },
        ylabel="× 1000",
        title=f"Offline evaluation; serve p99 {report['recommendations']['serve']['p99_ms']} ms"
        f" (cached candidates {report['recommendations']['serve']['warm']['p99_ms']} ms)",
    )
    third.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str], output: Path) -> int:
    parser = argparse.ArgumentParser(prog="socialflow bench views", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="a Redis database, emptied first")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of 10,000,000 heartbeats to roll up"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of HTTP load")
    parser.add_argument("--clients", type=int, default=2, help="client processes sending heartbeats")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per client process")
    parser.add_argument(
        "--in-process", type=int, default=20_000, help="heartbeats of the in-process comparison"
    )
    parser.add_argument("--lag-rounds", type=int, default=3)
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--recs-users", type=int, default=2000, help="users of the synthetic interaction set")
    parser.add_argument(
        "--recs-items", type=int, default=3000, help="videos of the synthetic interaction set"
    )
    parser.add_argument("--recs-rounds", type=int, default=300, help="timed recommendation requests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import redis as redis_client

    flush = redis_client.Redis.from_url(args.redis)
    flush.flushdb()
    flush.close()
    name, url = scratch_database(args.postgres, "sf_bench_views_")
    db = Database(url)
    try:
        migrate.upgrade(db)
        owner, videos = _fixture(db, args.videos)
        port = free_port()
        with tempfile.TemporaryDirectory() as data:
            env = {
                **os.environ,
                "SOCIALFLOW_DATA_DIR": data,
                "SOCIALFLOW_DATABASE_URL": url,
                "SOCIALFLOW_REDIS_URL": args.redis,
                "SOCIALFLOW_SECRET_KEY": secrets.token_urlsafe(48),
                "SOCIALFLOW_VIEWS_HEARTBEATS_PER_MINUTE": str(10**9),
                "SOCIALFLOW_TRUSTED_PROXIES": '["127.0.0.1"]',
                "SOCIALFLOW_LOG_JSON": "false",
            }
            base = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(port)]
            with ServerProcess(
                "api", command, ready_url=f"{base}/healthz", log_path=output / "views-api.log", env=env
            ) as server:
                log.info("driving heartbeats for %.0f s", args.seconds)
                http = measure_http(
                    port,
                    server.pid,
                    videos,
                    clients=args.clients,
                    seconds=args.seconds,
                    concurrency=args.concurrency,
                )
                log.info("ingestion: %s", http)
                from control_plane.accounts import AccountService, TokenCodec
                from control_plane.accounts.twofactor import TwoFactor

                secret = env["SOCIALFLOW_SECRET_KEY"].encode()
                accounts = AccountService(
                    db,
                    TokenCodec(secret, issuer=base, ttl=3600),
                    refresh_ttl=3600,
                    twofactor=TwoFactor(secret),
                )
                token = accounts.start_session(owner).access_token
                lag = measure_lag(base, videos[0], token, args.lag_rounds)
                log.info("lag: %s", lag)
        in_process = measure_in_process(db, args.redis, videos, owner, args.in_process)
        log.info("in process: %s", in_process)
        rollup = measure_rollup(db, videos, owner, int(HEARTBEATS_FULL * args.scale))
        log.info("rollup: %s", rollup)
        recommendations = measure_recommendations(db, args.recs_users, args.recs_items, args.recs_rounds)
        log.info("recommendations: %s", recommendations["serve"])
        report = {
            "benchmark": "views",
            "date": datetime.now(UTC).date().isoformat(),
            "scale": args.scale,
            "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "ingestion": {"http": http, "in_process": in_process, "target_per_second": TARGET_PER_SECOND},
            "lag": lag,
            "rollup": rollup,
            "recommendations": recommendations,
        }
        write_json(output / "views.json", report)
        plot(report, output / "views.png")
    finally:
        db.dispose()
        drop_database(args.postgres, name)
    return 0
