"""The intake, the events hub's subscriber: what each event asks for, bursts gathered into one
mailbox batch, and a mailbox that refuses never reaching the producer."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support.waiting import wait_until

from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.kv import MemoryKeyValue
from control_plane.moderation.events import ContentHeld, ContentReleased
from control_plane.notifications import Intake, Mailbox, items_of, subscribe
from control_plane.social.events import CommentWritten, PostCreated, PostDeleted, UserFollowed


class Batches:
    """What the intake posts (in place of ``Mailbox.post``): each batch's items."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.jobs.append({"items": items})


def test_what_events_ask_for() -> None:
    (follow,) = items_of(UserFollowed(follower_id="a", followee_id="b"))
    assert (follow["user"], follow["type"], follow["actor"], follow["subject"]) == (
        "b",
        "follow",
        "a",
        ["user", "b"],
    )
    reply = PostCreated(
        post_id="p2", author_id="a", reply_to="p1", reply_to_author_id="b", mentioned_ids=("b", "c")
    )
    assert [(i.get("user"), i["type"]) for i in items_of(reply)] == [("b", "reply"), ("c", "mention")]
    top = items_of(PostCreated(post_id="p3", author_id="a"))
    assert top[0]["fanout"] == "bell" and top[0]["type"] == "new_post"
    assert items_of(PostDeleted(post_id="p1", author_id="a", reposts=("r1",)))[0]["remove"] == [
        ["post", "p1"],
        ["post", "r1"],
    ]
    assert items_of(UserFollowed(follower_id="a", followee_id="a")) == []  # not of one's own doing
    # held for review by the screening: what the post or comment told anyone is withdrawn
    assert items_of(ContentHeld("post", "p2"))[0]["remove"] == [["post", "p2"]]
    assert items_of(ContentHeld("comment", "c1"))[0]["remove"] == [["comment", "c1"]]
    # released by a moderator: what its announcement tells, told now
    comment = CommentWritten(
        comment_id="c1",
        video_id="v1",
        video_owner_id="o",
        author_id="a",
        parent_id="c0",
        parent_author_id="b",
    )

    def told(event: object) -> list[tuple[object, ...]]:
        return [(i.get("user"), i["type"], tuple(i["subject"])) for i in items_of(event)]  # type: ignore[arg-type]

    assert (
        told(ContentReleased("comment", "c1", comment))
        == told(comment)
        == [
            ("b", "reply", ("comment", "c1")),
            ("o", "comment", ("comment", "c1")),
        ]
    )
    assert told(ContentReleased("post", "p2", reply)) == told(reply)


def test_a_burst_is_one_batch_and_a_window_of_zero_is_one_batch_per_event() -> None:
    queue = Batches()
    hub = EventHub()
    intake = Intake(queue, window=0.05)
    subscribe(hub, intake)
    for i in range(30):
        hub.publish(UserFollowed(follower_id=f"f{i}", followee_id="b"))
    assert wait_until(lambda: queue.jobs, 10)
    intake.close()
    assert sum(len(j["items"]) for j in queue.jobs) == 30 and len(queue.jobs) < 30
    at_once = Batches()
    immediate = Intake(at_once, window=0)
    for i in range(3):
        immediate(UserFollowed(follower_id=f"f{i}", followee_id="b"))
    assert len(at_once.jobs) == 3


def test_a_mailbox_that_refuses_never_reaches_the_producer(caplog: pytest.LogCaptureFixture) -> None:
    # a database that cannot be reached (nothing listens on port 1)
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")

    def no_queue(kind: str, **options: Any) -> None:
        raise AssertionError("nothing was written: nothing to drain")

    intake = Intake(Mailbox(down, MemoryKeyValue(), no_queue).post, window=0)
    intake(UserFollowed(follower_id="a", followee_id="b"))  # no exception
    assert "1 notification items lost: the mailbox refused" in caplog.text
    down.dispose()
