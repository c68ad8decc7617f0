"""The notifications mailbox on both backends: intakes write it and kick one drain for many
batches; a drain takes the batches of several intakes at once; drains side by side on PostgreSQL
never take the same row; a drain that fails after taking leaves its rows; a row at fault is
passed by without holding up the others; the ``notifications.ingest`` jobs of older intakes
still work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.notify import drain, inbox
from support.platform import Platform
from support.social import Member, backend_settings, member

from control_plane.core.db import Database
from control_plane.core.kv import MemoryKeyValue
from control_plane.jobs.models import Job
from control_plane.notifications import Intake, Mailbox
from control_plane.notifications.mailbox import MAX_ATTEMPTS
from control_plane.notifications.models import MailboxBatch, Notification
from control_plane.social.events import UserFollowed


@pytest.fixture(params=["sqlite", "postgres"])
def plat(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    """A platform whose jobs nobody runs: the tests drain by hand (drains that do not linger)."""
    settings = backend_settings(request.param, tmp_path, request, notification_drain_linger=0.0)
    return platform_factory(settings, inprocess_workers=False)


def drains_enqueued(p: Platform) -> int:
    with p.services.db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(Job.kind == "notifications.drain")) or 0)


def waiting(p: Platform) -> list[int]:
    with p.services.db.session() as session:
        return list(session.scalars(sa.select(MailboxBatch.id).order_by(MailboxBatch.id)))


def follows(p: Platform, followee: Member, *followers: Member) -> list[UserFollowed]:
    return [UserFollowed(follower_id=f.id, followee_id=followee.id) for f in followers]


def test_intakes_write_the_mailbox_and_kick_one_drain_for_many_batches(plat: Platform) -> None:
    mailbox = plat.services.notifications.mailbox
    ada, *fans = (member(plat, n) for n in ("ada", "bob", "cyd", "dee", "eve"))
    intakes = [Intake(mailbox.post, window=0), Intake(mailbox.post, window=0)]  # as two processes
    for k, event in enumerate(follows(plat, ada, *fans)):
        intakes[k % 2](event)
    assert len(waiting(plat)) == 4 and drains_enqueued(plat) == 1  # one drain waits: the gate holds
    drained = plat.services.notifications.service.drain(mailbox)
    assert (drained.rows, drained.items, drained.made, drained.failed) == (4, 4, 1, 0)  # one group
    assert waiting(plat) == []
    (group,) = inbox(plat, ada.headers)
    assert group["type"] == "follow" and group["count"] == 4
    # the drain released the gate: the next batch kicks a drain of its own
    intakes[0](UserFollowed(follower_id=ada.id, followee_id=fans[0].id))
    assert drains_enqueued(plat) == 2
    # while a drain runs, it holds the gate: batches wait for its next chunk, no job is added
    token = mailbox.hold()
    intakes[1](UserFollowed(follower_id=fans[1].id, followee_id=fans[0].id))
    assert drains_enqueued(plat) == 2 and len(waiting(plat)) == 2
    mailbox.release(token)
    # an empty mailbox asks for nothing of the periodic safety net
    plat.services.notifications.service.drain(mailbox)
    assert not mailbox.waiting() and mailbox.kick_if_waiting() is False
    assert drains_enqueued(plat) == 2


def test_a_lost_drain_is_made_up_for_by_the_gate_lapsing_and_the_periodic_kick(plat: Platform) -> None:
    short = Mailbox(plat.services.db, plat.services.kv, plat.services.jobs.enqueue, gate_ttl=0.2)
    ada, bob = member(plat, "ada"), member(plat, "bob")
    short.post([{"user": ada.id, "type": "follow", "subject": ["user", ada.id], "actor": bob.id}])
    assert drains_enqueued(plat) == 1
    time.sleep(0.3)  # that job never runs: its gate lapses
    assert short.kick_if_waiting() is True and drains_enqueued(plat) == 2


def test_a_lingering_drain_takes_what_comes_meanwhile_without_a_new_job(plat: Platform) -> None:
    s = plat.services
    lingering = Mailbox(s.db, s.kv, s.jobs.enqueue, linger=1.0)
    ada, bob, cyd = member(plat, "ada"), member(plat, "bob"), member(plat, "cyd")
    intake = Intake(lingering.post, window=0)
    intake(UserFollowed(follower_id=bob.id, followee_id=ada.id))
    assert drains_enqueued(plat) == 1
    later = threading.Timer(0.3, intake, [UserFollowed(follower_id=cyd.id, followee_id=ada.id)])
    later.start()
    started = time.monotonic()
    drained = s.notifications.service.drain(lingering)  # found bob's, then lingers: cyd's comes
    later.join()
    assert drained.rows == 2 and drains_enqueued(plat) == 1  # the gate was held: no new job
    assert 1.3 <= time.monotonic() - started < 10  # then it lingered once more, for nothing
    assert {a["username"] for a in inbox(plat, ada.headers)[0]["actors"]} == {"bob", "cyd"}


def test_a_drain_that_fails_after_taking_leaves_the_rows_for_the_next(plat: Platform) -> None:
    mailbox = plat.services.notifications.mailbox
    ada, bob = member(plat, "ada"), member(plat, "bob")
    Intake(mailbox.post, window=0)(UserFollowed(follower_id=bob.id, followee_id=ada.id))
    with pytest.raises(RuntimeError), plat.services.db.session(exclusive=True) as session:
        assert len(mailbox.take(session)) == 1
        raise RuntimeError("the worker died here")
    assert len(waiting(plat)) == 1
    assert plat.services.notifications.service.drain(mailbox).made == 1
    assert [i["type"] for i in inbox(plat, ada.headers)] == ["follow"]


def test_a_row_at_fault_is_counted_and_passed_by_and_the_others_go_through(plat: Platform) -> None:
    mailbox = plat.services.notifications.mailbox
    service = plat.services.notifications.service
    ada, bob, cyd = member(plat, "ada"), member(plat, "bob"), member(plat, "cyd")
    intake = Intake(mailbox.post, window=0)
    intake(UserFollowed(follower_id=bob.id, followee_id=ada.id))
    # an account closed between its event and the drain: its inbox cannot be made
    mailbox.post([{"user": "gone" * 8, "type": "follow", "subject": ["user", "x"], "actor": bob.id}])
    intake(UserFollowed(follower_id=cyd.id, followee_id=ada.id))
    lingering = Mailbox(plat.services.db, plat.services.kv, plat.services.jobs.enqueue, linger=0.3)
    started = time.monotonic()
    drained = service.drain(lingering)  # lingers for new rows, not for the one it passes by
    assert (drained.rows, drained.made, drained.failed) == (2, 2, 1) and time.monotonic() - started < 5
    assert {i["actor"]["username"] for i in inbox(plat, ada.headers)} == {"cyd"}  # regrouped
    (left,) = waiting(plat)
    for _ in range(MAX_ATTEMPTS - 1):
        service.drain(mailbox)
    with plat.services.db.session() as session:
        row = session.get(MailboxBatch, left)
        assert row is not None and row.attempts == MAX_ATTEMPTS and "Integrity" in (row.error or "")
    # kept as the record, and passed by from then on
    assert not mailbox.waiting() and service.drain(mailbox).failed == 0


def test_two_drains_at_once_never_take_the_same_row(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    p = platform_factory(backend_settings("postgres", tmp_path, request), inprocess_workers=False)
    mailbox = Mailbox(p.services.db, p.services.kv, p.services.jobs.enqueue, chunk=40)
    ada = member(p, "ada")
    for k in range(50):  # rows of two items each
        item = {"user": ada.id, "type": "video_ready", "subject": ["video", f"v{k}"], "data": {}}
        mailbox.post([item, {**item, "subject": ["video", f"w{k}"]}])
    first_took, release = threading.Event(), threading.Event()
    taken: dict[str, list[int]] = {}

    def hold() -> None:
        with p.services.db.session(exclusive=True) as session:
            taken["first"] = [i for i, _ in mailbox.take(session)]
            first_took.set()
            release.wait(20)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert first_took.wait(20)
        with p.services.db.session(exclusive=True) as session:
            taken["second"] = [i for i, _ in mailbox.take(session)]
    finally:
        release.set()
        holder.join(20)
    assert len(taken["first"]) == 20  # 40 items: the chunk
    assert len(taken["second"]) == 20 and not set(taken["first"]) & set(taken["second"])
    assert taken["second"][0] > taken["first"][-1]  # the next oldest free rows
    # and drains side by side make each notification once
    service = p.services.notifications.service
    workers = [threading.Thread(target=service.drain, args=(mailbox,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    with p.services.db.session() as session:
        subjects = list(session.scalars(sa.select(Notification.subject_id)))
    assert len(subjects) == 100 == len(set(subjects)) and waiting(p) == []


def test_ingest_jobs_of_older_intakes_still_work(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    p = platform_factory(backend_settings("sqlite", tmp_path, request))  # with its workers
    ada, bob = member(p, "ada"), member(p, "bob")
    item = {"user": ada.id, "type": "follow", "subject": ["user", ada.id], "actor": bob.id, "data": {}}
    job = p.services.jobs.enqueue("notifications.ingest", args={"items": [item]})
    drain(p)
    with p.services.db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None and row.status == "succeeded" and row.result["made"] == 1
    assert [i["text"] for i in inbox(p, ada.headers)] == ["bob followed you"]


def test_a_batch_is_taken_in_its_order_removals_included(plat: Platform) -> None:
    """A subject removed after the item that told of it, within one batch, tells nobody; one
    told again after its removal (held, then released) is told."""
    ada, bob, cyd = member(plat, "ada"), member(plat, "bob"), member(plat, "cyd")

    def told(user: Member, actor: Member) -> dict[str, object]:
        return {
            "user": user.id,
            "type": "follow",
            "subject": ["user", user.id],
            "actor": actor.id,
            "data": {},
        }

    service = plat.services.notifications.service
    made = service.ingest([told(ada, bob), {"remove": [["user", ada.id]]}])
    assert made.notifications == [] and inbox(plat, ada.headers) == []
    made = service.ingest([{"remove": [["user", cyd.id]]}, told(cyd, bob)])
    assert len(made.notifications) == 1
    assert [i["text"] for i in inbox(plat, cyd.headers)] == ["bob followed you"]


def test_mailboxes_on_different_databases_sharing_a_store_have_gates_of_their_own(tmp_path: Path) -> None:
    kv, kicked = MemoryKeyValue(), []
    dbs = [Database(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db")]
    mailboxes = [Mailbox(db, kv, lambda kind, **_: kicked.append(kind)) for db in (*dbs, dbs[0])]
    assert [m.kick() for m in mailboxes] == [True, True, False]  # the third shares the first's
    assert kicked == ["notifications.drain"] * 2
    for db in dbs:
        db.dispose()
