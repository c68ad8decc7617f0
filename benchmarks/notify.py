"""``socialflow bench notify``: notifications delivered in real time on the production form.

One run starts, on a fresh PostgreSQL database and a Redis server, two API processes
(``socialflow serve``) and one worker process (``socialflow worker``, the notification queues),
connects ``--clients`` WebSocket clients (each its own account) spread over the two API processes,
then makes follows at a steady ``--rate`` per second for ``--seconds`` through the API (each one a
committed event whose notification goes to one of the connected clients), and measures:

* delivery latency, p50 / p99 / max in ms, from the event's commit (the time the notification
  carries, stamped when the commit's event is published) to the client's receipt, and how many of
  the expected notifications arrived;
* memory per connected client: the two API processes' resident memory with every client
  connected, less before any connected, divided by the clients (KiB);
* Web Push sends per second to a local push service (npm ``web-push-testing``, which decrypts
  every message), through the push job's own code, from 1 and 4 threads.

The issue's scale is 2,000 clients at 500 events/s (target p99 < 250 ms); ``--scale`` multiplies
clients and rate. Results: ``notify.json`` and ``notify.png``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks._common import (
    BenchError,
    ServerProcess,
    drop_database,
    free_port,
    scratch_database,
    tree_rss,
    write_json,
)
from control_plane.core.heap import settle

__all__ = ["main"]

log = logging.getLogger("benchmarks.notify")

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))
NODE_DIR = Path(__file__).resolve().parents[1] / "tests" / "support" / "node"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0..100) of ``values``, nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="socialflow bench notify", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SOCIALFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("SOCIALFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="a Redis database the run may empty: pub/sub, counters and the broker's queues",
    )
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --clients and --rate")
    parser.add_argument("--pushes", type=int, default=400, help="Web Push sends to measure")
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument(
        "--intake-window", type=float, default=None, help="SOCIALFLOW_NOTIFICATION_INTAKE_WINDOW (s)"
    )
    parser.add_argument(
        "--via",
        choices=("events", "service", "api"),
        default="events",
        help="events: publish UserFollowed events to the notifications intake of --generators"
        " processes (the notification path alone, no follow is written); service: follows through"
        " the social domain's service in those processes; api: follows through the API processes",
    )
    parser.add_argument("--generators", type=int, default=4, help="generator processes (events, service)")
    return parser.parse_args(argv)


def _accounts(settings: Any, count: int, prefix: str) -> list[tuple[str, str, str]]:
    """``count`` accounts (id, username, access token), written straight into the database."""
    from control_plane.accounts.models import User
    from control_plane.services import build_services
    from workers.broker import broker_for

    services = build_services(settings, broker=broker_for(settings))
    try:
        rows: list[dict[str, Any]] = [
            {
                "id": uuid.uuid4().hex,
                "username": f"{prefix}{i:05d}",
                "username_key": f"{prefix}{i:05d}",
                "email": f"{prefix}{i:05d}@bench.invalid",
                "password_hash": "!",
                "role": "creator",
                "is_active": True,
            }
            for i in range(count)
        ]
        with services.db.session() as session:
            session.execute(sa.insert(User), rows)
        out: list[tuple[str, str, str]] = []
        for row in rows:
            tokens = services.accounts.start_session(str(row["id"]))
            out.append((str(row["id"]), str(row["username"]), tokens.access_token))
        return out
    finally:
        services.close()


def _generate(
    overrides: dict[str, Any],
    pairs: list[tuple[str, str, str]],
    rate: float,
    out: Any,
    go: Any,
    via: str = "service",
) -> None:
    """One generator process: each (actor id, target id, target username) at a steady ``rate``
    either a follow through ``SocialGraph.follow`` from a pool of threads (``service``: the commit's
    event goes through this process's hub, the notifications intake among its subscribers, as in
    an API process), or a ``UserFollowed`` event handed to this process's notifications intake
    alone (``events``: what the intake does after a follow's commit, without the follow). Puts
    ``"ready"`` on ``out`` once started, waits for ``go``, then puts ``(follows made, seconds spent)``."""
    from control_plane.core.settings import load_settings
    from control_plane.services import build_services
    from workers.broker import broker_for

    settings = load_settings(**overrides)
    services = build_services(settings, broker=broker_for(settings))
    settle()  # as an API process does: no full collection of startup's heap while timing
    made = 0
    out.put("ready")
    go.wait(120)

    def follow(actor: str, target: str) -> None:
        nonlocal made
        try:
            services.social.graph.follow(actor, target)
            made += 1
        except Exception:
            log.warning("a follow failed", exc_info=True)

    try:
        if via == "events":
            from control_plane.social.events import UserFollowed

            start = time.monotonic()
            for i, (actor, target_id, _) in enumerate(pairs):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                services.notifications.intake(UserFollowed(follower_id=actor, followee_id=target_id))
                made += 1
            spent = time.monotonic() - start
        else:
            with ThreadPoolExecutor(16) as pool:
                start = time.monotonic()
                for i, (actor, _, target) in enumerate(pairs):
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pool.submit(follow, actor, target)
            spent = time.monotonic() - start
    finally:
        services.close()  # sends what the intake still holds
    out.put((made, spent))


async def _run_clients(
    bases: list[str],
    clients: list[tuple[str, str, str]],
    actors: list[tuple[str, str, str]],
    rate: float,
    seconds: float,
    before_rss: Any,
    generate: Any = None,
) -> dict[str, Any]:
    import httpx
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    received = 0
    connected = 0
    ready = asyncio.Event()
    opening = asyncio.Semaphore(32)

    async def client(index: int, token: str) -> None:
        nonlocal received, connected
        base = bases[index % len(bases)].replace("http", "ws", 1)
        async with opening:  # a few handshakes at a time: each signs in against the database
            ws = await connect(
                f"{base}/api/v1/notifications/stream?access_token={token}",
                max_queue=None,
                open_timeout=120,
                ping_interval=None,
            )
            await ws.recv()  # the unread count
        async with ws:
            connected += 1
            if connected == len(clients):
                ready.set()
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message.get("event") == "notification":
                    made = datetime.fromisoformat(message["notification"]["created_at"]).timestamp()
                    latencies.append((now - made) * 1000)
                    received += 1

    tasks = []
    for i, (_, _, token) in enumerate(clients):
        tasks.append(asyncio.create_task(client(i, token)))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([waiter, *tasks], timeout=300, return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    if failed or not ready.is_set():
        for task in tasks:
            task.cancel()
        reason = failed[0].exception() if failed else "timed out"
        raise BenchError(f"only {connected} of {len(clients)} clients connected: {reason!r}")
    await asyncio.sleep(1.0)
    connected_rss = before_rss()
    # the clients' process is the instrument: a full collection of its 2,000 connections' heap
    # would hold every receipt back (100 ms and more), so it is frozen as the servers' are
    settle()
    total = int(rate * seconds)
    sem = asyncio.Semaphore(128)
    sent_ok = 0
    if generate is not None:  # --via events or service: other processes make them
        sent_ok, sending = await asyncio.to_thread(generate, total)
    else:
        sent_ok, sending = await _follow_through_api(bases, clients, actors, rate, total, sem, httpx)
    deadline = time.monotonic() + 30
    while received < sent_ok and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connected": connected,
        "connected_rss": connected_rss,
        "events_sent": sent_ok,
        "events_asked": total,
        "sending_seconds": round(sending, 2),
        "achieved_rate": round(sent_ok / sending, 1) if sending else None,
        "received": received,
        "latencies": latencies,
    }


async def _follow_through_api(
    bases: list[str],
    clients: list[tuple[str, str, str]],
    actors: list[tuple[str, str, str]],
    rate: float,
    total: int,
    sem: asyncio.Semaphore,
    httpx: Any,
) -> tuple[int, float]:
    """``--via api``: ``total`` follows at ``rate`` through the API processes, in turn."""
    sent_ok = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=128)) as http:

        async def follow(i: int) -> None:
            nonlocal sent_ok
            target = clients[i % len(clients)]
            actor = actors[(i // len(clients)) % len(actors)]
            async with sem:
                for _ in range(3):  # a keep-alive connection the server closed meanwhile: once more
                    try:
                        r = await http.put(
                            f"{bases[i % len(bases)]}/api/v1/users/{target[1]}/follow",
                            headers={"Authorization": f"Bearer {actor[2]}"},
                        )
                    except httpx.TransportError:
                        continue
                    if r.status_code == 204:
                        sent_ok += 1
                    break

        start = time.monotonic()
        requests = []
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            requests.append(asyncio.create_task(follow(i)))
        await asyncio.gather(*requests)
        sending = time.monotonic() - start
    return sent_ok, sending


def _generators(
    overrides: dict[str, Any],
    clients: list[tuple[str, str, str]],
    actors: list[tuple[str, str, str]],
    rate: float,
    processes: int,
    via: str,
) -> Any:
    """``--via events`` or ``service``: a function making ``total`` follows at ``rate`` in ``processes``
    generator processes started together; returns (follows made, seconds the slowest took)."""
    import multiprocessing

    def generate(total: int) -> tuple[int, float]:
        ctx = multiprocessing.get_context("spawn")
        out, go = ctx.Queue(), ctx.Event()
        pairs = [
            (actors[(i // len(clients)) % len(actors)][0], *clients[i % len(clients)][:2])
            for i in range(total)
        ]
        procs = [
            ctx.Process(
                target=_generate, args=(overrides, pairs[k::processes], rate / processes, out, go, via)
            )
            for k in range(processes)
        ]
        for proc in procs:
            proc.start()
        for _ in procs:
            if out.get(timeout=300) != "ready":
                raise BenchError("a generator process did not start")
        go.set()
        results = [out.get(timeout=total / rate * 10 + 120) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        return sum(r[0] for r in results), max(r[1] for r in results)

    return generate


def _job_times(db_url: str) -> dict[str, Any]:
    """Where the time of the jobs that make notifications went (``notifications.drain``, and
    ``notifications.ingest`` of older code): waiting in the queue (created to started) and
    running; and how many mailbox rows and items the drains took."""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT kind, extract(epoch FROM started_at - created_at) * 1000,"
                " extract(epoch FROM finished_at - started_at) * 1000, result"
                " FROM jobs WHERE kind IN ('notifications.ingest', 'notifications.drain')"
                " AND finished_at IS NOT NULL"
            )
        ).all()
    engine.dispose()
    waits, runs = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    drains = [r[3] or {} for r in rows if r[0] == "notifications.drain"]
    return {
        "count": len(rows),
        "drains": len(drains),
        "drained_rows": sum(int(d.get("rows", 0)) for d in drains),
        "drained_items": sum(int(d.get("items", 0)) for d in drains),
        "queue_wait_p50_ms": round(percentile(waits, 50), 1),
        "queue_wait_p99_ms": round(percentile(waits, 99), 1),
        "run_p50_ms": round(percentile(runs, 50), 1),
        "run_p99_ms": round(percentile(runs, 99), 1),
    }


def _push_rate(count: int) -> list[dict[str, Any]]:
    """Web Push sends per second through the push job's code to web-push-testing on loopback."""
    import httpx
    from py_vapid import Vapid02

    from control_plane.notifications.devices import Pusher
    from control_plane.notifications.preferences import Preferences
    from control_plane.notifications.push import Device, WebPushSender
    from control_plane.notifications.vapid import public_key

    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "web-push-testing").exists():
        npm = shutil.which("npm")
        if node is None or npm is None:
            return []
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [node, "push_service.js", str(port)],
        cwd=NODE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.post(f"{url}/status")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        key = Vapid02()
        key.generate_keys()
        sub = httpx.post(f"{url}/subscribe", json={"applicationServerKey": public_key(key)}).json()["data"]
        device = Device("webpush", sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"])
        item = {"user": "u", "type": "mention", "subject": ["post", "p"], "actor": None, "id": 1}
        message = Pusher._message(item, Preferences(), "ada")
        results = []
        for threads in (1, 4):
            senders = [WebPushSender(key, "mailto:bench@example.com") for _ in range(threads)]
            per = count // threads
            start = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda s, n=per: [s.send(device, message) for _ in range(n)], senders))
            spent = time.perf_counter() - start
            results.append(
                {"threads": threads, "sends": per * threads, "per_second": round(per * threads / spent, 1)}
            )
        got = httpx.post(f"{url}/get-notifications", json={"clientHash": sub["clientHash"]}).json()
        results.append({"decrypted_by_push_service": len(got["data"]["messages"])})
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _plot(report: dict[str, Any], latencies: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if latencies:
        ordered = sorted(latencies)
        left.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)])
    left.axvline(250, color="grey", linestyle="--", label="target p99 250 ms")
    left.set_xlabel("commit to receipt (ms)")
    left.set_ylabel("fraction of notifications")
    d = report["delivery"]
    left.set_title(
        f"{report['config']['clients']} clients, {report['config']['rate']:.0f}/s asked, "
        f"p50 {d['p50_ms']:.0f} ms, p99 {d['p99_ms']:.0f} ms",
        fontsize=9,
    )
    left.legend(fontsize=8)
    pushes = [p for p in report["web_push"] if "threads" in p]
    right.bar([f"{p['threads']} thread(s)" for p in pushes], [p["per_second"] for p in pushes])
    right.set_ylabel("Web Push sends / s")
    right.set_title(f"memory per client {report['memory']['per_client_kib']:.0f} KiB", fontsize=9)
    fig.suptitle("socialflow bench notify (2-core sandbox, shared: noisy)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str], output: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = _arguments(argv)
    clients_n = max(2, int(args.clients * args.scale))
    rate = max(1.0, args.rate * args.scale)
    from control_plane.core import migrate
    from control_plane.core.db import Database
    from control_plane.core.settings import load_settings

    name, db_url = scratch_database(args.postgres, "sf_bench_notify_")
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"sf-bench-notify-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")},
        "SOCIALFLOW_DATABASE_URL": db_url,
        "SOCIALFLOW_REDIS_URL": args.redis,
        "SOCIALFLOW_BROKER_URL": args.redis,  # Dramatiq's keys are its own (dramatiq:*)
        "SOCIALFLOW_STORAGE_URL": f"file://{work / 'blobs'}",
        "SOCIALFLOW_SECRET_KEY": secrets.token_urlsafe(48),
        "SOCIALFLOW_DATA_DIR": str(work / "data"),
        "SOCIALFLOW_FOLLOW_RATE_PER_HOUR": "1000000",
        "SOCIALFLOW_API_BUDGET_PER_MINUTE": "0",
        "SOCIALFLOW_LOG_JSON": "true",
        # tokens name their issuer: the same for both API processes and this one that signs them
        "SOCIALFLOW_PUBLIC_URL": "http://bench.invalid",
    }
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    overrides: dict[str, Any] = {
        "database_url": db_url,
        "redis_url": args.redis,
        "broker_url": env["SOCIALFLOW_BROKER_URL"],
        "storage_url": env["SOCIALFLOW_STORAGE_URL"],
        "secret_key": env["SOCIALFLOW_SECRET_KEY"],
        "data_dir": work / "data",
        "public_url": env["SOCIALFLOW_PUBLIC_URL"],
        "follow_rate_per_hour": 1_000_000,
    }
    if args.intake_window is not None:
        env["SOCIALFLOW_NOTIFICATION_INTAKE_WINDOW"] = str(args.intake_window)
        overrides["notification_intake_window"] = args.intake_window
    settings = load_settings(**overrides)
    db = Database(db_url)
    migrate.upgrade(db)
    db.dispose()
    try:
        actors_n = max(1, int(rate * args.seconds) // clients_n + 1)
        clients = _accounts(settings, clients_n, "c")
        actors = _accounts(settings, actors_n, "a")
        ports = [free_port(), free_port()]
        servers = [
            ServerProcess(
                f"api-{i}",
                [SOCIALFLOW, "serve", "--port", str(port)],
                ready_url=f"http://127.0.0.1:{port}/healthz",
                log_path=work / f"api-{i}.log",
                env=env,
                cwd=work,
            )
            for i, port in enumerate(ports)
        ]
        worker = ServerProcess(
            "worker",
            [
                SOCIALFLOW,
                "worker",
                "--queues",
                "notifications,notifications-bulk",
                "--processes",
                str(args.worker_processes),
                "--threads",
                str(args.worker_threads),
            ],
            ready_url=f"http://127.0.0.1:{ports[0]}/healthz",
            log_path=work / "worker.log",
            env=env,
            cwd=work,
        )
        with servers[0], servers[1], worker:
            deadline = time.monotonic() + 120
            while "ready for action" not in (work / "worker.log").read_text(errors="replace"):
                if time.monotonic() > deadline:
                    raise BenchError("the worker did not start: see notify-worker.log")
                time.sleep(0.2)
            time.sleep(1.0)
            pids = [s.pid for s in servers]
            before = sum(tree_rss(p) for p in pids)
            result = asyncio.run(
                _run_clients(
                    [f"http://127.0.0.1:{p}" for p in ports],
                    clients,
                    actors,
                    rate,
                    args.seconds,
                    lambda: sum(tree_rss(p) for p in pids),
                    _generators(overrides, clients, actors, rate, args.generators, args.via)
                    if args.via != "api"
                    else None,
                )
            )
        result["ingest_jobs"] = _job_times(db_url)
        latencies = result.pop("latencies")
        connected_rss = result.pop("connected_rss")
        pushes = _push_rate(args.pushes)
        report = {
            "benchmark": "notify",
            "config": {
                "clients": clients_n,
                "rate": rate,
                "seconds": args.seconds,
                "api_processes": 2,
                "worker_threads": args.worker_threads,
                "worker_processes": args.worker_processes,
                "intake_window": args.intake_window,
                "scale": args.scale,
                "via": args.via,
                "generators": args.generators if args.via != "api" else 0,
            },
            "delivery": {
                **result,
                "p50_ms": round(percentile(latencies, 50), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
                "max_ms": round(max(latencies), 1) if latencies else None,
                "target_p99_ms": 250,
            },
            "memory": {
                "api_rss_before_mib": round(before / 2**20, 1),
                "api_rss_connected_mib": round(connected_rss / 2**20, 1),
                "per_client_kib": round((connected_rss - before) / max(1, result["connected"]) / 1024, 1),
            },
            "web_push": pushes,
        }
        write_json(output / "notify.json", report)
        _plot(report, latencies, output / "notify.png")
        print(json.dumps(report, indent=2))
        return 0
    except BenchError as exc:
        print(f"socialflow: error: {exc}", file=sys.stderr)
        return 1
    finally:
        for log_file in work.glob("*.log"):  # kept beside the results, for a run that went wrong
            shutil.copy(log_file, output / f"notify-{log_file.name}")
        drop_database(args.postgres, name)
        shutil.rmtree(work, ignore_errors=True)
