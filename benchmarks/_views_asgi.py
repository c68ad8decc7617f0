"""CPU per heartbeat of the API app itself, without HTTP: heartbeat scopes called on the ASGI app.

The figure ``socialflow bench views`` cannot separate: the server's CPU per heartbeat over HTTP
is the app plus uvicorn, the sockets and the event loop. Here the whole app (every middleware
layer, the short path, the views service, the Redis buffer), built as ``serve`` builds it on
PostgreSQL and Redis, is called ``--heartbeats`` times with ``--in-flight`` requests at once on
uvloop, and the process's CPU time (its Redis worker thread included) is divided by the count:

    python -m benchmarks._views_asgi --postgres URL --redis URL [--heartbeats 20000] [--in-flight 32]

prints one JSON line. A fresh database on ``--postgres`` is made and dropped; ``--redis`` is
emptied first. Used to measure the heartbeat path step by step (docs/benchmarks.md "Views").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import drop_database, scratch_database
from benchmarks.views import _fixture
from control_plane.core import migrate
from control_plane.core.db import Database

__all__ = ["measure", "main"]

AGENT = b"Mozilla/5.0 (X11; Linux x86_64) bench"


async def measure(app: Any, videos: list[str], heartbeats: int, in_flight: int) -> dict[str, Any]:
    """Call ``app`` with heartbeat scopes (players cycling through 4,000 sessions, 5 s more
    watched at each beat) after a warm-up round; CPU and wall microseconds a heartbeat."""
    rng = random.Random(19)
    players = [(f"asgi-{k:05d}", rng.choice(videos)) for k in range(4000)]
    watched: dict[str, float] = {}
    statuses: dict[int, int] = {}

    async def one(n: int) -> None:
        session, video = players[n % len(players)]
        seconds = watched[session] = watched.get(session, 0.0) + 5.0
        body = json.dumps({"session": session, "position": seconds, "watched_seconds": seconds}).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/api/v1/videos/{video}/views",
            "raw_path": f"/api/v1/videos/{video}/views".encode(),
            "root_path": "",
            "query_string": b"",
            "server": ("127.0.0.1", 8000),
            "client": (f"10.0.{n % 250}.{n % 200}", 40000),
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"user-agent", AGENT),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "state": {},
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # never: a heartbeat reads its body once
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    async def player(first: int, count: int) -> None:
        for n in range(first, first + count):
            await one(n)

    await asyncio.gather(*(player(k * 20, 20) for k in range(in_flight)))  # warm-up: caches, connections
    statuses.clear()
    each = heartbeats // in_flight
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(player(100_000 + k * each, each) for k in range(in_flight)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = each * in_flight
    return {
        "heartbeats": done,
        "in_flight": in_flight,
        "cpu_us_per_heartbeat": round(1e6 * cpu / done, 1),
        "wall_us_per_heartbeat": round(1e6 * wall / done, 1),
        "statuses": statuses,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server (a database is made)")
    parser.add_argument("--redis", required=True, help="a Redis database, emptied first")
    parser.add_argument("--heartbeats", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args(argv)
    import redis
    import uvloop

    from control_plane.app import create_app
    from control_plane.core.settings import load_settings
    from control_plane.services import build_services
    from workers.broker import broker_for

    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    client.close()
    name, url = scratch_database(args.postgres, "sf_bench_views_asgi_")
    db = Database(url)
    try:
        migrate.upgrade(db)
        _, videos = _fixture(db, 200)
        with tempfile.TemporaryDirectory() as data:
            settings = load_settings(
                data_dir=Path(data),
                database_url=url,
                redis_url=args.redis,
                secret_key=secrets.token_urlsafe(48),
                views_heartbeats_per_minute=10**9,
                log_json=False,
            )
            services = build_services(settings, broker=broker_for(settings))
            try:
                result = uvloop.run(measure(create_app(services), videos, args.heartbeats, args.in_flight))
            finally:
                services.close()
    finally:
        db.dispose()
        drop_database(args.postgres, name)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
