"""``socialflow bench social``: search and social reads and writes on PostgreSQL, at scale.

One run builds the synthetic graph of ``_social_data`` (10,000 accounts, 500,000 follows,
200,000 posts, 50,000 videos, 1,000,000 likes, 100,000 comments; ``--scale`` shrinks it) with
COPY into a fresh database on ``--postgres`` (dropped afterwards unless ``--keep``), indexes it
for search through the search service's own refresh, then measures, through the services the
routes call:

* search latency, p50 and p99 in ms, for one term, two terms, a rare term, a very common term and
  a three-letter prefix, over posts and videos, each beside the plain ``ILIKE '%term%'`` query
  the naive code would write (newest first, 20 rows), in the same run;
* page latency (p50, p99 ms): a profile (the channel's row with its counts, and the first page
  of posts), the followers of the most followed account, the comments of the busiest video (new
  and top, anonymous and signed in), a hashtag's posts, and catalogue pages (latest, most viewed,
  a tag, a channel);
* write throughput (operations per second): likes and follows, from 1 and 8 threads.

After the load the database is vacuumed and analysed, as autovacuum would; ``--reuse NAME``
measures again in a database a ``--keep`` run left.

Targets (reported, never asserted): search p99 under 50 ms for a common term and under 10 ms
otherwise; page p99 under 10 ms. Results: ``social.json`` and ``social.png``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import random
import secrets
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks._common import grouped_bars, write_json
from benchmarks._social_data import FULL, TAGS, VOCABULARY, Built, Scale, build, described
from control_plane.channels.service import ChannelService
from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.kv import MemoryKeyValue
from control_plane.core.ratelimit import RateLimiter
from control_plane.core.settings import load_settings
from control_plane.http.pagination import PageParams
from control_plane.services import search_service
from control_plane.social import Social, Viewer, build_social
from control_plane.videos import VideoService
from control_plane.videos.catalogue import Catalogue
from storage import LocalStore

__all__ = ["main", "percentile"]

log = logging.getLogger("benchmarks.social")

PAGE = PageParams(limit=20)
SEARCH_TARGET_MS = {"common": 50.0}
DEFAULT_TARGET_MS = 10.0
#: Word ranks of the vocabulary (0 is the most frequent) per kind of query.
MEDIUM = range(40, 80)
RARE = range(3000, 3040)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0..100) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def timed(calls: list[Callable[[], object]], rounds: int) -> dict[str, float]:
    """p50 and p99 (ms) of ``rounds`` calls cycling through ``calls``, after one warm-up pass."""
    for call in calls:
        call()
    spent = []
    for i in range(rounds):
        started = time.perf_counter()
        calls[i % len(calls)]()
        spent.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(percentile(spent, 50), 3), "p99_ms": round(percentile(spent, 99), 3)}


def queries() -> dict[str, list[str]]:
    words = [VOCABULARY[i] for i in MEDIUM]
    return {
        "one term": words,
        "two terms": [f"{a} {b}" for a, b in zip(words, reversed(words), strict=True)],
        "rare": [VOCABULARY[i] for i in RARE],
        "common": [VOCABULARY[0], VOCABULARY[1]],
        "prefix": [w[:3] for w in words],
    }


def ilike(db: Database, table: str, column: str) -> Callable[[str], object]:
    """The naive search: every word as ``ILIKE '%word%'``, newest first."""

    def run(text: str) -> object:
        words = text.split()
        where = " AND ".join(f"{column} ILIKE :w{i}" for i in range(len(words)))
        sql = f"SELECT id FROM {table} WHERE {where} ORDER BY created_at DESC LIMIT 20"
        with db.engine.connect() as conn:
            return conn.execute(sa.text(sql), {f"w{i}": f"%{w}%" for i, w in enumerate(words)}).all()

    return run


def measure_search(db: Database, search: Any, rounds: int) -> list[dict[str, Any]]:
    results = []
    for kind, table, column in (("posts", "posts", "text"), ("videos", "videos", "title")):
        naive = ilike(db, table, column)
        for name, texts in queries().items():
            ours = timed([functools.partial(search.search, kind, t, None, PAGE) for t in texts], rounds)
            plain = timed([functools.partial(naive, t) for t in texts], max(10, rounds // 5))
            hits = len(search.search(kind, texts[0], None, PAGE)[0])
            target = SEARCH_TARGET_MS.get(name, DEFAULT_TARGET_MS)
            results.append(
                {
                    "kind": kind,
                    "query": name,
                    "example": texts[0],
                    "hits_on_first_page": hits,
                    "ours": ours,
                    "ilike": plain,
                    "target_p99_ms": target,
                    "met": ours["p99_ms"] < target,
                }
            )
            log.info("search %s %-9s ours %s  ilike %s", kind, name, ours, plain)
    return results


def measure_pages(
    social: Social, channels: ChannelService, catalogue: Catalogue, built: Built, rounds: int
) -> list[dict[str, Any]]:
    rng = random.Random(3)
    users = [f"user{rng.randrange(len(built.user_ids))}" for _ in range(50)]
    viewer = Viewer(None)
    member = Viewer(built.user_ids[0])

    def profile(username: str) -> None:
        channels.profile(username)  # GET /users/{username}: the channel row, its counts on it
        social.timelines.by_author(username, viewer, PAGE)  # GET /users/{username}/posts

    pages: dict[str, list[Callable[[], object]]] = {
        "profile (counts and posts)": [functools.partial(profile, u) for u in users],
        "followers of the most followed": [lambda: social.graph.followers(built.star, None, PAGE)],
        "comments, new": [lambda: social.comments.top_level(built.busiest_video, viewer, "new", PAGE)],
        "comments, top": [lambda: social.comments.top_level(built.busiest_video, viewer, "top", PAGE)],
        # signed in, the author's own comments waiting for a review are read too (a second query)
        "comments, new, signed in": [
            lambda: social.comments.top_level(built.busiest_video, member, "new", PAGE)
        ],
        "comments, top, signed in": [
            lambda: social.comments.top_level(built.busiest_video, member, "top", PAGE)
        ],
        "hashtag posts": [lambda: social.timelines.by_tag(f"tag{VOCABULARY[0]}", viewer, PAGE)],
        "catalogue, latest": [lambda: catalogue.public(PAGE)],
        "catalogue, popular": [lambda: catalogue.public(PAGE, sort="popular")],
        "catalogue, a tag": [lambda: catalogue.public(PAGE, tag=TAGS[0])],
        "catalogue, a channel": [functools.partial(catalogue.public, PAGE, channel=u) for u in users],
    }
    results = []
    for name, calls in pages.items():
        figures = timed(calls, rounds)
        results.append(
            {
                "page": name,
                **figures,
                "target_p99_ms": DEFAULT_TARGET_MS,
                "met": figures["p99_ms"] < DEFAULT_TARGET_MS,
            }
        )
        log.info("page %-32s %s", name, figures)
    return results


def measure_writes(social: Social, built: Built, count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    results = []
    for threads in (1, 8):
        likes = [(rng.choice(built.user_ids), rng.choice(built.post_ids)) for _ in range(count)]
        follows = [
            (rng.choice(built.user_ids), f"user{rng.randrange(len(built.user_ids))}") for _ in range(count)
        ]
        for name, jobs, act in (
            ("like", likes, lambda j: social.likes.post(Viewer(j[0]), j[1], True)),
            ("follow", follows, lambda j: _quiet(social.graph.follow, j[0], j[1])),
        ):
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(act, jobs))
            rate = count / (time.perf_counter() - started)
            results.append({"operation": name, "threads": threads, "per_second": round(rate, 1)})
            log.info("%s with %d threads: %.0f/s", name, threads, rate)
    return results


def _quiet(call: Callable[..., object], *args: object) -> None:
    """A follow of oneself is refused like any bad request; the benchmark counts the attempt."""
    try:
        call(*args)
    except Exception as exc:  # noqa: BLE001 - only the refusals the service raises on purpose
        if getattr(exc, "status", 500) >= 500:
            raise


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    rows = [r for r in report["search"] if r["kind"] == "posts"]
    grouped_bars(
        left,
        [r["query"] for r in rows],
        {
            "ours (full-text), p99": [r["ours"]["p99_ms"] for r in rows],
            "ILIKE '%term%', p99": [r["ilike"]["p99_ms"] for r in rows],
        },
        ylabel="ms",
        title=f"Search over {report['scale']['posts']:,} posts",
    )
    left.set_yscale("log")
    left.legend(fontsize=8)
    grouped_bars(
        right,
        ["\n".join(textwrap.wrap(p["page"].split(" (")[0], 12)) for p in report["pages"]],
        {"p50": [p["p50_ms"] for p in report["pages"]], "p99": [p["p99_ms"] for p in report["pages"]]},
        ylabel="ms",
        title="Pages (target p99 < 10 ms)",
    )
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(db: Database, url: str, scale: Scale, args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Build, index and measure in the fresh database ``db`` (at ``url``), or only measure in the
    one ``--reuse`` names; ``data`` is a scratch folder (the settings' data dir, the avatars'
    store that no page here reads)."""
    events = EventHub()
    settings = load_settings(
        data_dir=data, database_url=url, secret_key=secrets.token_urlsafe(48), follow_rate_per_hour=10**9
    )
    channels = ChannelService(db, LocalStore(data / "blobs", settings.secret_bytes), lambda *a, **k: None)
    social = build_social(
        db,
        events,
        RateLimiter(MemoryKeyValue()),
        settings,
        user_counts=ChannelService.add_counts,
        video_counts=VideoService.add_counts,
    )
    search = search_service(db, events)
    indexed: dict[str, int] = {}
    index_seconds = 0.0
    if args.reuse:
        built = described(db, scale)
    else:
        migrate.upgrade(db)
        built = build(db, scale)
        log.info("built %s in %.1f s", scale, built.seconds)
        started = time.perf_counter()
        indexed = search.refresh()
        index_seconds = time.perf_counter() - started
        log.info("indexed %s in %.1f s", indexed, index_seconds)
    # What autovacuum does after such a load (it is on in production): the statistics, the
    # visibility map, and the GIN indexes' pending lists merged into the indexes.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return {
        "benchmark": "social",
        "scale": vars(scale) | {"factor": args.scale},
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "build_seconds": round(built.seconds, 1),
        "index": {"documents": indexed, "seconds": round(index_seconds, 1)},
        "search": measure_search(db, search, args.rounds),
        "pages": measure_pages(social, channels, Catalogue(db), built, args.rounds),
        "writes": measure_writes(social, built, args.writes),
        "load_average_after": os.getloadavg(),
    }


def main(argv: list[str], output: Path) -> int:
    parser = argparse.ArgumentParser(prog="socialflow bench social", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL; the benchmark makes (and drops) its own database there",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (default 1)")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per measurement")
    parser.add_argument("--writes", type=int, default=2000, help="likes and follows per throughput case")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        metavar="NAME",
        help="measure again in a database an earlier run kept (same --scale; its writes stay in it)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scale = FULL.times(args.scale) if args.scale != 1.0 else FULL
    name = args.reuse or f"sf_bench_social_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
    db = Database(url)
    try:
        with tempfile.TemporaryDirectory() as data:
            report = run(db, url, scale, args, Path(data))
        write_json(output / "social.json", report)
        plot(report, output / "social.png")
    finally:
        db.dispose()
        if not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0
