"""``socialflow bench feed``: home feed reads and fan-out on PostgreSQL + Redis, three ways.

One run builds the synthetic platform of ``_feed_data`` (100,000 accounts, 5,000,000 follows,
1,000,000 posts, stars with 50,000 followers, readers following 2,000 accounts; ``--scale``
shrinks it) with COPY into a fresh database on ``--postgres`` (dropped afterwards unless
``--keep``), then measures side by side, through the code the route runs:

* **pull**: no timelines, the SQL query over follows and posts (newest first, 20 rows, hidden
  accounts left out) and the same wire form;
* **push**: every author pushed to every active follower's Redis timeline (Mastodon's way);
* **hybrid** (ours): authors with more than ``--push-max-followers`` followers pulled at read
  time and merged, everyone else pushed.

For each: the first page's latency (p50, p99 ms) for ordinary readers and for readers following
``heavy_follows`` accounts, warm (timeline there) and cold (rebuilt on this read); the time from a
post to its presence in every active follower's timeline (p50, p99 over ordinary authors, and a
star alone; the fan-out runs in this thread, so a job queue's wait is not in it); Redis writes
per post; Redis bytes per timeline entry (compact encoding, and Redis's default for comparison);
pages that came back empty to a reader whose followees have posted (must be 0). For ours also the
ranked feed's latency, and the learned model's AUC on held-out interactions beside recency's.

Targets (reported, never asserted): hybrid read p99 < 10 ms and ≥ 10× faster than pull at p99;
a post in 99 % of its followers' timelines within 5 s; ≤ 25 bytes an entry; no empty page;
ranked p99 < 50 ms. Results: ``feed.json`` and ``feed.png``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import redis
import sqlalchemy as sa

from benchmarks._common import grouped_bars, write_json
from benchmarks._feed_data import FULL, Built, build
from control_plane.core import migrate
from control_plane.core.db import Database, new_id, utcnow
from control_plane.core.kv import MemoryKeyValue
from control_plane.feed import FeedService
from control_plane.feed.model import fit
from control_plane.feed.stores import RedisTimelines
from control_plane.feed.training import training_set
from control_plane.http.pagination import PageParams
from control_plane.social.audience import Viewer
from control_plane.social.events import PostCreated
from control_plane.social.models import Follow, Post
from control_plane.social.postviews import listed_for, post_views
from storage import open_store

__all__ = ["main"]

log = logging.getLogger("benchmarks.feed")

PAGE = PageParams(limit=20)
LENGTH = 400
LISTPACK = "zset-max-listpack-entries"
#: ``SOCIALFLOW_FEED_PUSH_MAX_FOLLOWERS``'s default, at full scale.
THRESHOLD = 10_000
TARGETS = {
    "read_p99_ms": 10.0,
    "read_speedup": 10.0,
    "visible_s": 5.0,
    "bytes_per_entry": 25.0,
    "ranked_p99_ms": 50.0,
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def figures(spent: list[float], cpu: float | None = None) -> dict[str, float]:
    """p50/p99 of ``spent`` (ms) and, given ``cpu`` (this process's CPU seconds over them all),
    the CPU milliseconds a read cost on average (the client's side: Python, SQLAlchemy, the
    drivers; the servers' own work is not in it)."""
    out = {
        "p50_ms": round(percentile(spent, 50), 3),
        "p99_ms": round(percentile(spent, 99), 3),
        "n": len(spent),
    }
    if cpu is not None:
        out["cpu_ms"] = round(cpu * 1000 / max(len(spent), 1), 3)
    return out


def timed(call: Callable[[str], object], users: list[str], rounds: int) -> dict[str, float]:
    """p50/p99 (ms) of ``rounds`` calls over ``users`` in turn, after one warm-up pass."""
    for user in users:
        call(user)
    spent = []
    cpu = 0.0
    for i in range(rounds):
        started, used = time.perf_counter(), time.process_time()
        call(users[i % len(users)])
        spent.append((time.perf_counter() - started) * 1000)
        cpu += time.process_time() - used
    return figures(spent, cpu)


# -- the three strategies --------------------------------------------------------------------


def pull_page(db: Database, user_id: str) -> list[Any]:
    """The pull-only feed: followed accounts' posts, newest first, hidden ones left out."""
    query = (
        sa.select(Post)
        .join(Follow, Follow.followee_id == Post.author_id)
        .where(Follow.follower_id == user_id, listed_for(user_id))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(PAGE.limit)
    )
    with db.session() as session:
        return post_views(session, list(session.scalars(query)), Viewer(user_id))


def pull_ids(db: Database, user_id: str) -> list[str]:
    """The pull-only feed's selection alone: the ids of the first page."""
    query = (
        sa.select(Post.id)
        .join(Follow, Follow.followee_id == Post.author_id)
        .where(Follow.follower_id == user_id, listed_for(user_id))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(PAGE.limit)
    )
    with db.session() as session:
        return list(session.scalars(query))


def timeline_ids(strategy: Strategy, user_id: str) -> list[tuple[int, int]]:
    """A push strategy's selection alone: the timeline's first entries merged with the pulled
    authors' timelines (one Redis round trip; the database only for the pulled accounts a
    reader follows, once a minute)."""
    with strategy.feed.db.session() as session:
        return strategy.feed.following.window(session, user_id, None, PAGE.limit).entries


def timeline_of(built: Built, user: int, pushed: np.ndarray) -> list[tuple[int, int]]:
    """What a rebuild would put in ``user``'s timeline, computed in memory (a rebuild per reader
    through the database would dominate the set-up): the newest shares of the pushed accounts
    they follow, one entry per subject at its newest share."""
    follows = built.follows(user)
    chunks = [built.by_author[a][-LENGTH:] for a in follows if pushed[a] and a in built.by_author]
    if not chunks:
        return []
    seqs = np.sort(np.concatenate(chunks))[::-1]
    replying = built.reply_to_author[seqs - 1]
    allowed = (replying < 0) | np.isin(replying, follows)
    seqs = seqs[allowed][: LENGTH * 2]
    subjects = built.subject[seqs - 1]
    _, first = np.unique(subjects, return_index=True)
    keep = np.sort(first)[:LENGTH]
    return [(int(subjects[i]), int(seqs[i])) for i in keep]


class Strategy:
    """One of the push strategies: a feed service over its own Redis timelines."""

    def __init__(
        self,
        name: str,
        db: Database,
        client: redis.Redis,
        prefix: str,
        blobs: Any,
        threshold: int | None,
        batch: int,
    ) -> None:
        self.name = name
        self.sent: list[int] = []
        self.store = RedisTimelines(client, length=LENGTH, ttl=14 * 86400, prefix=f"{prefix}{name}:home:")
        self.authors = RedisTimelines(client, length=LENGTH, ttl=14 * 86400, prefix=f"{prefix}{name}:author:")
        self.feed = FeedService(
            db,
            MemoryKeyValue(),
            blobs,
            self._enqueue,
            self.store,
            self.authors,
            push_max_followers=threshold,
            active_days=14,
            batch=batch,
            ranked_candidates=150,
            ranked_ttl=1800,
        )

    def _enqueue(self, kind: str, *, args: dict[str, Any], subject: str | None = None) -> None:
        self.sent.append(int(args["seq"]))

    def fill(self, built: Built, pushed: np.ndarray, readers: list[int]) -> float:
        started = time.perf_counter()
        pipe_every = 200
        for at in range(0, len(readers), pipe_every):
            for user in readers[at : at + pipe_every]:
                self.store.fill(built.users[user], timeline_of(built, user, pushed))
        return time.perf_counter() - started

    def read(self, user_id: str) -> list[Any]:
        return self.feed.read(user_id, "following", PAGE)[0]


def ranked_read(feed: FeedService, user_id: str) -> list[Any]:
    return feed.read(user_id, "ranked", PAGE)[0]


def post_now(db: Database, author_id: str) -> str:
    post_id = new_id()
    with db.session() as session:
        session.add(Post(id=post_id, author_id=author_id, text="benchmark post", created_at=utcnow()))
    return post_id


def publish(db: Database, strategy: Strategy | None, author_id: str) -> dict[str, float]:
    """Post as ``author_id``; seconds until every active follower's feed has it, and the
    timeline writes made on the way."""
    started = time.perf_counter()
    post_id = post_now(db, author_id)
    written = followers = 0
    if strategy is not None:
        strategy.sent.clear()
        strategy.feed.post_created(PostCreated(post_id=post_id, author_id=author_id))
        for seq in strategy.sent:  # pushed: the fan-out job's work
            done = strategy.feed.fanout(seq)
            written, followers = done["written"], done["followers"]
    return {"seconds": time.perf_counter() - started, "written": written, "followers": followers}


def measure_fanout(
    db: Database, strategies: dict[str, Strategy | None], built: Built, authors: list[int]
) -> dict[str, dict[str, Any]]:
    """Each author posts once through each strategy in turn; the stars last."""
    ordinary: dict[str, list[dict[str, float]]] = {name: [] for name in strategies}
    stars: dict[str, list[dict[str, float]]] = {name: [] for name in strategies}
    for author in authors:
        for name, strategy in strategies.items():
            ordinary[name].append(publish(db, strategy, built.users[author]))
    for star in built.stars:
        for name, strategy in strategies.items():
            stars[name].append(publish(db, strategy, built.users[star]))
    out = {}
    for name in strategies:
        seconds = [o["seconds"] for o in ordinary[name]]
        out[name] = {
            "ordinary": {
                "p50_s": round(percentile(seconds, 50), 4),
                "p99_s": round(percentile(seconds, 99), 4),
                "writes_per_post": round(sum(o["written"] for o in ordinary[name]) / len(authors), 1),
                "posts": len(authors),
            },
            "star": {
                "seconds": round(max(s["seconds"] for s in stars[name]), 4),
                "writes_per_post": round(sum(s["written"] for s in stars[name]) / len(stars[name]), 1),
                "active_followers": max(s["followers"] for s in stars[name]),
            },
        }
    return out


def memory(client: redis.Redis, strategy: Strategy, users: list[str]) -> float:
    used = entries = 0
    for user in users:
        size = strategy.store.size(user)
        if size:
            used += strategy.store.bytes_used(user) or 0
            entries += size
    return round(used / max(entries, 1), 2)


def default_encoding_cost(
    client: redis.Redis, strategy: Strategy, built: Built, pushed: np.ndarray, readers: list[int]
) -> float:
    """Bytes an entry with Redis's default ``zset-max-listpack-entries`` (128): a skiplist."""
    previous = str(client.config_get(LISTPACK)[LISTPACK])
    client.config_set(LISTPACK, 128)
    try:
        probe = Strategy(
            "probe", strategy.feed.db, client, strategy.store.prefix, strategy.feed.blobs, 0, 1000
        )
        probe.fill(built, pushed, readers)
        return memory(client, probe, [built.users[r] for r in readers])
    finally:
        client.config_set(LISTPACK, previous)


def empties(read: Callable[[str], list[Any]], built: Built, readers: list[int]) -> int:
    """Readers whose followees have posted but whose first page came back empty."""
    posted = set(built.by_author)
    return sum(
        1 for r in readers if any(int(a) in posted for a in built.follows(r)) and not read(built.users[r])
    )


def interleaved(
    reads: dict[str, Callable[[str], list[Any]]], users: list[str], rounds: int
) -> dict[str, dict[str, float]]:
    """p50/p99 (ms) of each strategy's first page, the strategies taking turns on the same
    reader in a rotating order, so that the machine's load falls on all of them alike."""
    names = list(reads)
    for user in users:  # warm-up: connections, caches, activity records
        for name in names:
            reads[name](user)
    spent: dict[str, list[float]] = {name: [] for name in names}
    cpu = dict.fromkeys(names, 0.0)
    for i in range(rounds):
        user = users[i % len(users)]
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started, used = time.perf_counter(), time.process_time()
            reads[name](user)
            spent[name].append((time.perf_counter() - started) * 1000)
            cpu[name] += time.process_time() - used
    return {name: figures(values, cpu[name]) for name, values in spent.items()}


def agreement(strategy: Strategy, users: list[str]) -> int:
    """Readers whose first page from the bulk-filled timeline differs from the page after a
    rebuild through the service (0: the set-up's timelines are the service's own)."""
    differ = 0
    for user in users:
        before = [(e.kind, e.post.id if e.post else None) for e in strategy.read(user)]
        strategy.store.drop(user)
        after = [(e.kind, e.post.id if e.post else None) for e in strategy.read(user)]
        differ += before != after
    return differ


def cold(strategies: list[Strategy], built: Built, readers: list[int]) -> dict[str, dict[str, Any]]:
    """First pages of readers whose timeline is gone (rebuilt from the database on this read),
    the strategies taking turns."""
    spent: dict[str, list[float]] = {s.name: [] for s in strategies}
    empty = dict.fromkeys(spent, 0)
    posted = set(built.by_author)
    for i, r in enumerate(readers):
        user = built.users[r]
        for strategy in strategies[i % 2 :] + strategies[: i % 2]:
            strategy.store.drop(user)
            started = time.perf_counter()
            page = strategy.read(user)
            spent[strategy.name].append((time.perf_counter() - started) * 1000)
            if not page and any(int(a) in posted for a in built.follows(r)):
                empty[strategy.name] += 1
    return {name: {**figures(values), "empty_pages": empty[name]} for name, values in spent.items()}


def model_check(db: Database) -> dict[str, Any]:
    started = time.perf_counter()
    data = training_set(db, utcnow())
    model = fit(data.x, data.y, held_out=data.held_out)
    return {
        "samples": model.samples,
        "held_out": int(data.held_out.sum()),
        "auc": model.auc,
        "auc_recency_only": model.auc_recency,
        "weights": dict(zip(model.features, [round(w, 3) for w in model.weights], strict=True)),
        "seconds": round(time.perf_counter() - started, 1),
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["pull", "push", "hybrid"]
    s = report["strategies"]
    figure, ((a, b, c), (d, e, f)) = plt.subplots(2, 3, figsize=(18, 9))
    groups = ["ordinary p50", "ordinary p99", "2k-follow p50", "2k-follow p99"]
    for axes, what, title in (
        (a, "read", "First page, checked and hydrated (warm)"),
        (b, "selection", "First page's ids only (warm)"),
    ):
        grouped_bars(
            axes,
            groups,
            {
                n: [s[n][what][k][q] for k in ("ordinary", "heavy") for q in ("p50_ms", "p99_ms")]
                for n in names
            },
            ylabel="ms",
            title=title,
        )
        axes.set_yscale("log")
        axes.legend(fontsize=8)
    grouped_bars(
        c,
        ["ordinary p50", "ordinary p99", f"star ({report['star_followers']:,} followers)"],
        {
            n: [
                s[n]["fanout"]["ordinary"]["p50_s"] * 1000,
                s[n]["fanout"]["ordinary"]["p99_s"] * 1000,
                s[n]["fanout"]["star"]["seconds"] * 1000,
            ]
            for n in names
        },
        ylabel="ms",
        title="Post to every active follower's feed",
    )
    c.set_yscale("log")
    c.legend(fontsize=8)
    grouped_bars(
        d,
        ["ordinary post", "star post"],
        {
            n: [s[n]["fanout"]["ordinary"]["writes_per_post"], s[n]["fanout"]["star"]["writes_per_post"]]
            for n in names
        },
        ylabel="Redis writes per post",
        title="Write amplification",
    )
    d.set_yscale("symlog")
    d.legend(fontsize=8)
    grouped_bars(
        e,
        ["listpack (1024)", "Redis default (128)"],
        {"bytes an entry": [s["hybrid"]["bytes_per_entry"], s["hybrid"]["bytes_per_entry_default"]]},
        ylabel="bytes",
        title="Redis memory per timeline entry",
    )
    grouped_bars(
        f,
        ["cold p50", "cold p99", "ranked p50", "ranked p99"],
        {
            "push": [s["push"]["cold_read"]["p50_ms"], s["push"]["cold_read"]["p99_ms"], None, None],
            "hybrid": [
                s["hybrid"]["cold_read"]["p50_ms"],
                s["hybrid"]["cold_read"]["p99_ms"],
                s["hybrid"]["ranked"]["p50_ms"],
                s["hybrid"]["ranked"]["p99_ms"],
            ],
        },
        ylabel="ms",
        title="Rebuilt on read (cold) and ranked pages",
    )
    f.legend(fontsize=8)
    figure.suptitle(
        f"bench feed: {report['scale']['users']:,} users, {report['graph']['follows']:,} follows, "
        f"{report['scale']['posts']:,} posts; {report['date']}, shared 2-core machine (load "
        f"{report['machine']['load_average'][0]:.1f})",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str], output: Path) -> int:
    parser = argparse.ArgumentParser(prog="socialflow bench feed", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL; the benchmark makes (and drops) its own database there",
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/15", help="a Redis database the run may write"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set (default 1)")
    parser.add_argument("--rounds", type=int, default=300, help="timed reads per measurement")
    parser.add_argument("--posts", type=int, default=50, help="posts timed per strategy (besides the stars')")
    parser.add_argument(
        "--push-max-followers",
        type=int,
        help="the hybrid's threshold (default: SOCIALFLOW_FEED_PUSH_MAX_FOLLOWERS's 10,000 times --scale, "
        "so that the same accounts are pulled as at full scale)",
    )
    parser.add_argument("--batch", type=int, default=1000, help="timelines per fan-out batch")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scale = FULL.times(args.scale) if args.scale != 1.0 else FULL
    if args.push_max_followers is None:
        args.push_max_followers = max(20, int(THRESHOLD * args.scale))
    database = f"sf_bench_feed_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = f"{args.postgres.rsplit('/', 1)[0]}/{database}"
    db = Database(url)
    client = redis.Redis.from_url(args.redis)
    prefix = f"bench:feed:{uuid.uuid4().hex[:8]}:"
    previous = str(client.config_get(LISTPACK)[LISTPACK])
    try:
        client.config_set(LISTPACK, 1024)
        migrate.upgrade(db)
        built = build(db, scale, push_max_followers=args.push_max_followers)
        followers = np.bincount(np.concatenate(list(built.followees.values())), minlength=len(built.users))
        log.info("built %s in %.1f s", scale, built.seconds)
        rng = random.Random(9)
        active = [int(u) for u in np.flatnonzero(built.active)]
        heavy = set(built.heavy)
        readers = [u for u in active if u not in heavy]
        ordinary = rng.sample(readers, min(300, len(readers)))
        posters = [int(a) for a in built.by_author if 0 < followers[a] <= args.push_max_followers]
        authors = rng.sample(posters, min(args.posts, len(posters)))
        with tempfile.TemporaryDirectory() as blobs_dir:
            blobs = open_store(f"file://{blobs_dir}", secret=b"b" * 32)
            report: dict[str, Any] = {
                "benchmark": "feed",
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
                "scale": vars(scale) | {"factor": args.scale},
                "graph": {
                    "follows": int(followers.sum()),
                    "max_followers": int(followers.max()),
                    "accounts_over_threshold": int((followers > args.push_max_followers).sum()),
                    "heavy_reader_follows": int(len(built.follows(built.heavy[0]))),
                },
                "star_followers": int(followers[built.stars].min()),
                "push_max_followers": args.push_max_followers,
                "build_seconds": round(built.seconds, 1),
                "redis_prefix": prefix,
                "database": database,
                "strategies": {},
                "targets": TARGETS,
            }
            hybrid = Strategy("hybrid", db, client, prefix, blobs, args.push_max_followers, args.batch)
            push = Strategy("push", db, client, prefix, blobs, None, args.batch)
            fills = {}
            for strategy, pushed in ((hybrid, followers <= args.push_max_followers), (push, followers >= 0)):
                fills[strategy.name] = round(strategy.fill(built, pushed, active), 1)
                log.info(
                    "%s: %d timelines filled in %.1f s", strategy.name, len(active), fills[strategy.name]
                )
            checked = [built.users[u] for u in ordinary[:20] + built.heavy[:2]]
            mismatches = {s.name: agreement(s, checked) for s in (hybrid, push)}
            log.info("bulk timelines unlike rebuilt ones: %s of %d readers", mismatches, len(checked))
            reads: dict[str, Callable[[str], list[Any]]] = {
                "pull": functools.partial(pull_page, db),
                "push": push.read,
                "hybrid": hybrid.read,
            }
            selections: dict[str, Callable[[str], list[Any]]] = {
                "pull": functools.partial(pull_ids, db),
                "push": functools.partial(timeline_ids, push),
                "hybrid": functools.partial(timeline_ids, hybrid),
            }
            warm, selected = {}, {}
            for kind, readers, rounds in (
                ("ordinary", ordinary, args.rounds),
                ("heavy", built.heavy, max(args.rounds // 2, 20)),
            ):
                ids = [built.users[u] for u in readers]
                warm[kind] = interleaved(reads, ids, rounds)
                selected[kind] = interleaved(selections, ids, rounds)
            report["machine"]["load_during"] = {"reads": os.getloadavg()[0]}
            log.info("pages %s", warm)
            log.info("selections %s", selected)
            colds = cold([hybrid, push], built, ordinary[:100] + built.heavy[:10])
            log.info("cold reads %s", colds)
            fanouts = measure_fanout(db, {"pull": None, "push": push, "hybrid": hybrid}, built, authors)
            log.info("fan-out %s", fanouts)
            strategies: dict[str, Any] = {}
            for name in ("pull", "push", "hybrid"):
                result: dict[str, Any] = {
                    "read": {kind: warm[kind][name] for kind in warm},
                    "selection": {kind: selected[kind][name] for kind in selected},
                    "empty_pages": empties(reads[name], built, ordinary + built.heavy),
                    "fanout": fanouts[name],
                }
                if name != "pull":
                    strategy = hybrid if name == "hybrid" else push
                    result |= {
                        "timelines": len(active),
                        "fill_seconds": fills[name],
                        "bytes_per_entry": memory(client, strategy, [built.users[u] for u in ordinary]),
                        "cold_read": colds[name],
                        "fill_unlike_rebuild": mismatches[name],
                    }
                strategies[name] = result
            strategies["hybrid"]["bytes_per_entry_default"] = default_encoding_cost(
                client, hybrid, built, followers <= args.push_max_followers, ordinary[:50]
            )
            strategies["hybrid"]["ranked"] = timed(
                functools.partial(ranked_read, hybrid.feed),
                [built.users[u] for u in ordinary[:100]],
                args.rounds // 2,
            )
            report["machine"]["load_during"]["ranked"] = os.getloadavg()[0]
            log.info("ranked %s", strategies["hybrid"]["ranked"])
            report["strategies"] = strategies
        report["model"] = model_check(db)
        log.info("model %s", report["model"])
        report["speedup_p99"] = {
            what: {
                k: round(
                    strategies["pull"][what][k]["p99_ms"]
                    / max(strategies["hybrid"][what][k]["p99_ms"], 1e-6),
                    1,
                )
                for k in ("ordinary", "heavy")
            }
            for what in ("read", "selection")
        }
        report["machine"]["load_average_end"] = os.getloadavg()
        write_json(output / "feed.json", report)
        plot(report, output / "feed.png")
    finally:
        client.config_set(LISTPACK, previous)
        for key in client.scan_iter(f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
        db.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    return 0
