"""``socialflow bench ledger``: the payments ledger on PostgreSQL.

In one run, on a fresh database on ``--postgres`` (dropped afterwards):

* ledger transfers per second (``Ledger.post``: one transaction, two postings, two cached balances
  changed with ``balance = balance + delta``) from 1 writer and from 8 concurrent writers, between
  1,000 accounts; after each, ``Ledger.check`` (every transaction sums to zero, every cached
  balance equals its postings, none below zero) and the accounts' total;
* beside it, the naive single-row balance update (read both balances, write the new values back,
  no lock), from 1 and 8 writers: faster, and wrong under concurrency: the lost updates are counted
  (accounts whose final balance differs from the sum of the transfers that touched them, and the
  money created or destroyed);
* webhook events per second through the real path (signature check, store, apply, book) with 10 %
  of the deliveries duplicates, from 8 threads, with the check after;
* the monthly payout computation (``PayoutService.distribute``: the pool shared by watch time with
  statement lines) for 10,000 creators and 10,000,000 view records (``watch_time_daily`` rows:
  creator videos × days), loaded with COPY.

``--scale`` multiplies every size (transfers, events, creators and view records). The anchor is
pgledger's published figure (over 10,000 transfers/s on an M3 laptop); the JSON reports ours per
core beside it. Results: ``ledger.json`` and ``ledger.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks._common import write_json
from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.payments.ledger import POOL, PROVIDER, Ledger
from control_plane.payments.memberships import Terms
from control_plane.payments.payouts import PayoutService
from control_plane.payments.providers import LocalProvider, sign
from control_plane.payments.revenue import MonetizeClaims, RecordedWatchTime
from control_plane.payments.webhooks import WebhookService

__all__ = ["main"]

log = logging.getLogger("benchmarks.ledger")

PGLEDGER_PER_SECOND = 10_000  # pgledger's README: "over 10,000 transfers per second" on an M3 laptop
ACCOUNTS = 1000
SEED = 1_000_000_000


def _database(server: str) -> tuple[str, sa.Engine]:
    name = f"sf_bench_ledger_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return f"{server.rsplit('/', 1)[0]}/{name}", admin


def _accounts() -> list[str]:
    return [f"user:bench{i:05d}:available" for i in range(ACCOUNTS)]


def _seed(db: Database) -> None:
    with db.session() as session:
        for account in _accounts():
            Ledger.post(
                session,
                reference=f"seed:{account}",
                kind="seed",
                currency="usd",
                entries=[(PROVIDER, -SEED), (account, SEED)],
            )


def _pairs(n: int, seed: int) -> list[tuple[str, str, int]]:
    rng = random.Random(seed)
    names = _accounts()
    out = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        out.append((a, b, rng.randint(1, 100)))
    return out


def _run(work: list[Any], threads: int, fn: Any) -> float:
    chunks = [work[i::threads] for i in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda chunk: [fn(item) for item in chunk], chunks))
    return time.perf_counter() - start


def ledger_transfers(db: Database, n: int, threads: int, tag: str) -> dict[str, Any]:
    counter = iter(range(10**12))
    lock = threading.Lock()

    def transfer(item: tuple[str, str, int]) -> None:
        a, b, amount = item
        with lock:
            k = next(counter)
        with db.session() as session:
            Ledger.post(
                session,
                reference=f"{tag}:{k}",
                kind="transfer",
                currency="usd",
                entries=[(a, -amount), (b, amount)],
            )

    seconds = _run(_pairs(n, hash(tag) & 0xFFFF), threads, transfer)
    with db.session() as session:
        check = Ledger.check(session)
        total = sum(v for (acct, _), v in Ledger.balances(session, _accounts()).items())
    return {
        "transfers": n,
        "threads": threads,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "invariant_ok": check.ok and total == SEED * ACCOUNTS,
    }


def naive_transfers(engine: sa.Engine, n: int, threads: int) -> dict[str, Any]:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS naive_balances"))
        conn.execute(
            sa.text("CREATE TABLE naive_balances (account text PRIMARY KEY, balance bigint NOT NULL)")
        )
        conn.execute(
            sa.text("INSERT INTO naive_balances VALUES (:a, :b)"), [{"a": a, "b": SEED} for a in _accounts()]
        )
    pairs = _pairs(n, 7 + threads)
    expected: dict[str, int] = defaultdict(lambda: SEED)
    for a, b, amount in pairs:
        expected[a] -= amount
        expected[b] += amount

    def transfer(item: tuple[str, str, int]) -> None:
        a, b, amount = item
        with engine.begin() as conn:  # read, compute in Python, write back: the naive way
            read = "SELECT balance FROM naive_balances WHERE account = :a"
            ba = conn.execute(sa.text(read), {"a": a}).scalar_one()
            bb = conn.execute(sa.text(read), {"a": b}).scalar_one()
            write = "UPDATE naive_balances SET balance = :v WHERE account = :a"
            conn.execute(sa.text(write), {"v": ba - amount, "a": a})
            conn.execute(sa.text(write), {"v": bb + amount, "a": b})

    seconds = _run(pairs, threads, transfer)
    with engine.connect() as conn:
        final: dict[str, int] = dict(
            conn.execute(sa.text("SELECT account, balance FROM naive_balances")).all()
        )
    wrong = len([a for a in _accounts() if final[a] != expected[a]])
    drift = sum(final.values()) - SEED * ACCOUNTS
    return {
        "transfers": n,
        "threads": threads,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "accounts_wrong": wrong,
        "money_created_or_lost": drift,
        "invariant_ok": wrong == 0 and drift == 0,
    }


def webhook_events(db: Database, n: int, threads: int) -> dict[str, Any]:
    secret = "whsec_bench_" + secrets.token_hex(8)
    provider = LocalProvider(db, secret, "http://127.0.0.1")
    service = WebhookService(db, provider, Terms(), EventHub())
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, email, password_hash, role, is_active, "
                "created_at) "
                "VALUES ('b0', 'benchpayer', 'benchpayer', 'p@example.com', 'x', 'creator', true, now()), "
                "('b1', 'benchcreator', 'benchcreator', 'c@example.com', 'x', 'creator', true, now())"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO tips (id, from_id, to_id, amount, currency, status, created_at) "
                "SELECT 't' || g, 'b0', 'b1', 500, 'usd', 'pending', now() FROM generate_series(1, :n) g"
            ),
            {"n": n},
        )
    deliveries = []
    for i in range(1, n + 1):
        body = {
            "id": f"evt_bench_{i}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": f"pi_bench_{i}",
                    "amount": 500,
                    "currency": "usd",
                    "latest_charge": f"ch_bench_{i}",
                    "metadata": {"tip_id": f"t{i}"},
                }
            },
        }
        payload = json.dumps(body).encode()
        deliveries.append((payload, sign(payload, secret)))
    rng = random.Random(3)
    sent = deliveries + [rng.choice(deliveries) for _ in range(n // 9)]  # 10 % of all deliveries are copies
    rng.shuffle(sent)
    outcomes: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def receive(item: tuple[bytes, str]) -> None:
        status = service.receive(*item).status
        with lock:
            outcomes[status] += 1

    seconds = _run(sent, threads, receive)
    with db.session() as session:
        ok = Ledger.check(session).ok and Ledger.balance(session, "user:b1:pending", "usd") == n * 350
    return {
        "deliveries": len(sent),
        "events": n,
        "threads": threads,
        "seconds": round(seconds, 3),
        "per_second": round(len(sent) / seconds, 1),
        "outcomes": dict(outcomes),
        "invariant_ok": ok,
    }


def payout_computation(db: Database, creators: int, records: int) -> dict[str, Any]:
    days = 30
    videos_per_creator = max(1, records // (creators * days))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(
            "COPY users (id, username, username_key, email, password_hash, role, is_active, created_at) "
            "FROM STDIN"
        ) as copy:
            for c in range(creators):
                name = f"cr{c:06d}"
                copy.write_row(
                    (f"u{c}", name, name, f"{name}@example.com", "x", "creator", True, "2026-11-01T00:00:00Z")
                )
        with cur.copy(
            "COPY videos (id, owner_id, title, status, visibility, progress, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for c in range(creators):
                for v in range(videos_per_creator):
                    copy.write_row(
                        (
                            f"v{c}_{v}",
                            f"u{c}",
                            "",
                            "ready",
                            "public",
                            1.0,
                            "2026-11-01T00:00:00Z",
                            "2026-11-01T00:00:00Z",
                        )
                    )
        rng = random.Random(5)
        start_day = date(2026, 11, 1)
        loaded = 0
        with cur.copy("COPY watch_time_daily (video_id, day, seconds) FROM STDIN") as copy:
            for c in range(creators):
                for v in range(videos_per_creator):
                    for d in range(days):
                        copy.write_row(
                            (f"v{c}_{v}", (start_day + timedelta(days=d)).isoformat(), rng.randint(1, 3600))
                        )
                        loaded += 1
        raw.commit()
    finally:
        raw.close()
    with db.session() as session:
        Ledger.post(
            session,
            reference="bench:pool",
            kind="seed",
            currency="usd",
            entries=[(PROVIDER, -(10**9)), (POOL, 10**9)],
        )
    service = PayoutService(
        db,
        LocalProvider(db, "whsec_x" * 3, "http://x"),
        Terms(),
        EventHub(),
        watch_time=RecordedWatchTime(),
        claims=MonetizeClaims(),
    )
    start = time.perf_counter()
    shared = service.distribute("2026-11")
    seconds = time.perf_counter() - start
    with db.session() as session:
        ok = Ledger.check(session).ok and Ledger.balance(session, POOL, "usd") == 0
    return {
        "creators": creators,
        "view_records": loaded,
        "videos": creators * videos_per_creator,
        "seconds": round(seconds, 3),
        "shared": shared,
        "invariant_ok": ok,
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = ["ledger 1", "ledger 8", "naive 1", "naive 8", "webhooks 8"]
    values = [
        results["ledger_1"]["per_second"],
        results["ledger_8"]["per_second"],
        results["naive_1"]["per_second"],
        results["naive_8"]["per_second"],
        results["webhooks"]["per_second"],
    ]
    colors = ["#2b6cb0", "#2b6cb0", "#c53030", "#c53030", "#2f855a"]
    left.bar(labels, values, color=colors)
    for i, v in enumerate(values):
        left.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    left.set_ylabel("per second")
    left.set_title(
        f"transfers and webhook events /s (naive 8: {results['naive_8']['accounts_wrong']} accounts wrong)",
        fontsize=9,
    )
    per_core = results["per_core"]
    right.bar(
        ["ours, per core", "pgledger (M3 laptop)"],
        [per_core, PGLEDGER_PER_SECOND],
        color=["#2b6cb0", "#718096"],
    )
    right.set_title("ledger transfers /s beside pgledger's published figure", fontsize=9)
    fig.suptitle(
        f"socialflow bench ledger (scale {results['scale']}); payout run: {results['payouts']['seconds']} s "
        f"for {results['payouts']['creators']:,} creators, {results['payouts']['view_records']:,} records",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str], output: Path) -> int:
    parser = argparse.ArgumentParser(prog="socialflow bench ledger")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SOCIALFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every size (1: the full run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    transfers = max(100, int(20_000 * args.scale))
    events = max(100, int(10_000 * args.scale))
    creators = max(10, int(10_000 * args.scale))
    records = max(1000, int(10_000_000 * args.scale))
    url, admin = _database(args.postgres)
    db = Database(url)
    try:
        migrate.upgrade(db)
        db.engine.dispose()
        db = Database(url)
        _seed(db)
        results: dict[str, Any] = {"scale": args.scale, "cores": os.cpu_count()}
        log.info("ledger transfers, 1 writer")
        results["ledger_1"] = ledger_transfers(db, transfers, 1, "one")
        log.info("ledger transfers, 8 writers")
        results["ledger_8"] = ledger_transfers(db, transfers, 8, "eight")
        log.info("naive single-row updates, 1 and 8 writers")
        results["naive_1"] = naive_transfers(db.engine, transfers, 1)
        results["naive_8"] = naive_transfers(db.engine, transfers, 8)
        log.info("webhook events with 10 percent duplicates, 8 threads")
        results["webhooks"] = webhook_events(db, events, 8)
        log.info("monthly payout computation")
        results["payouts"] = payout_computation(db, creators, records)
        best = max(results["ledger_1"]["per_second"], results["ledger_8"]["per_second"])
        results["per_core"] = round(best / (os.cpu_count() or 1), 1)
        results["pgledger_per_second_m3"] = PGLEDGER_PER_SECOND
        write_json(output / "ledger.json", results)
        plot(results, output / "ledger.png")
        log.info(json.dumps(results, indent=2, default=str))
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
    return 0
