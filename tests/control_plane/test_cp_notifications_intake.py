"""The intake, the events hub's subscriber: what each event asks for, bursts gathered into one job,
and a job queue that refuses never reaching the producer."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support.waiting import wait_until

from control_plane.core.events import EventHub
from control_plane.moderation.events import ContentHeld, ContentReleased
from control_plane.notifications import Intake, items_of, subscribe
from control_plane.social.events import CommentWritten, PostCreated, PostDeleted, UserFollowed


class Queue:
    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, kind: str, *, args: dict[str, Any]) -> None:
        assert kind == "notifications.ingest"
        with self.lock:
            self.jobs.append(args)


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


def test_a_burst_is_one_job_and_a_window_of_zero_is_one_job_per_event() -> None:
    queue = Queue()
    hub = EventHub()
    intake = Intake(queue, window=0.05)
    subscribe(hub, intake)
    for i in range(30):
        hub.publish(UserFollowed(follower_id=f"f{i}", followee_id="b"))
    assert wait_until(lambda: queue.jobs, 10)
    intake.close()
    assert sum(len(j["items"]) for j in queue.jobs) == 30 and len(queue.jobs) < 30
    at_once = Queue()
    immediate = Intake(at_once, window=0)
    for i in range(3):
        immediate(UserFollowed(follower_id=f"f{i}", followee_id="b"))
    assert len(at_once.jobs) == 3


def test_a_queue_that_refuses_never_reaches_the_producer(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(kind: str, **options: Any) -> None:
        raise ConnectionError("broker down")

    intake = Intake(refuse, window=0)
    intake(UserFollowed(follower_id="a", followee_id="b"))  # no exception
    assert "lost: the job queue refused" in caplog.text
