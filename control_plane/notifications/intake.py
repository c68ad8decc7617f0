"""From the events hub to the notifications mailbox: each event becomes a few small JSON *items*
(who is to be told what, a fan-out to a channel's audience, or subjects whose notifications go),
gathered for a short window and posted as one mailbox row (``mailbox``), which a
``notifications.drain`` job turns into notifications together with every other process's rows.
Nothing here reads the database, the posting is done off the request (the window's thread), and
a push service or mail server that is down never reaches the producer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from control_plane.contentid.events import ClaimDisputed, ClaimMade, ClaimResolved
from control_plane.core.db import utcnow
from control_plane.core.events import Event, EventHub
from control_plane.live.events import StreamWentLive
from control_plane.moderation.events import ContentHeld, ContentReleased, ModerationAction
from control_plane.notifications.events import NotificationRequested
from control_plane.payments.events import PaymentReceived, PayoutSent, TipReceived
from control_plane.social.events import (
    CommentDeleted,
    CommentLiked,
    CommentWritten,
    PostCreated,
    PostDeleted,
    PostLiked,
    UserFollowed,
    VideoLiked,
)
from control_plane.videos.events import VideoFailed, VideoReady

__all__ = ["SOURCES", "Intake", "items_of", "subscribe"]

log = logging.getLogger(__name__)

Item = dict[str, Any]


def _tell(
    user: str | None,
    type_: str,
    subject: tuple[str, str],
    *,
    actor: str | None = None,
    context: tuple[str, str] | None = None,
    conversation: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> Item | None:
    if not user or user == actor:
        return None  # nobody is told of their own doing
    return {
        "user": user,
        "type": type_,
        "subject": list(subject),
        "actor": actor,
        "context": list(context) if context else None,
        "conversation": list(conversation) if conversation else None,
        "data": data or {},
    }


def _fanout(audience: str, type_: str, author: str, subject: tuple[str, str], data: dict[str, Any]) -> Item:
    """Tell ``audience`` (``bell``: who rang the author's bell; ``followers``: every follower)."""
    return {"fanout": audience, "type": type_, "actor": author, "subject": list(subject), "data": data}


def _post(event: PostCreated) -> Iterable[Item | None]:
    post = ("post", event.post_id)
    told = set()
    if event.reply_to_author_id:
        told.add(event.reply_to_author_id)
        yield _tell(
            event.reply_to_author_id,
            "reply",
            post,
            actor=event.author_id,
            context=("post", event.reply_to or ""),
            conversation=("post", event.reply_to or ""),
        )
    if event.quote_of_author_id:
        told.add(event.quote_of_author_id)
        yield _tell(
            event.quote_of_author_id,
            "quote",
            post,
            actor=event.author_id,
            context=("post", event.quote_of or ""),
        )
    if event.repost_of_author_id and event.repost_of:
        yield _tell(
            event.repost_of_author_id,
            "repost",
            ("post", event.repost_of),
            actor=event.author_id,
            conversation=("post", event.repost_of),
        )
    for user in event.mentioned_ids:
        if user not in told:
            yield _tell(user, "mention", post, actor=event.author_id, conversation=post)
    if event.reply_to is None and event.repost_of is None:
        yield _fanout("bell", "new_post", event.author_id, post, {})


def _comment(event: CommentWritten) -> Iterable[Item | None]:
    comment, video = ("comment", event.comment_id), ("video", event.video_id)
    if event.parent_author_id:
        yield _tell(
            event.parent_author_id, "reply", comment, actor=event.author_id, context=video, conversation=video
        )
    if event.video_owner_id != event.parent_author_id:
        yield _tell(
            event.video_owner_id, "comment", comment, actor=event.author_id, context=video, conversation=video
        )


def items_of(event: Event) -> list[Item]:
    """The work ``event`` asks of the notifications domain (empty for events it ignores)."""
    found: Iterable[Item | None]
    match event:
        case UserFollowed():
            found = [_tell(event.followee_id, "follow", ("user", event.followee_id), actor=event.follower_id)]
        case PostLiked():
            post = ("post", event.post_id)
            found = [_tell(event.author_id, "like", post, actor=event.user_id, conversation=post)]
        case VideoLiked():
            video = ("video", event.video_id)
            found = [_tell(event.owner_id, "like", video, actor=event.user_id, conversation=video)]
        case CommentLiked():
            video = ("video", event.video_id)
            found = [
                _tell(
                    event.author_id,
                    "like",
                    ("comment", event.comment_id),
                    actor=event.user_id,
                    context=video,
                    conversation=video,
                )
            ]
        case CommentWritten():
            found = _comment(event)
        case PostCreated():
            found = _post(event)
        case PostDeleted():
            found = [{"remove": [["post", event.post_id], *(["post", r] for r in event.reposts)]}]
        case CommentDeleted():
            found = [{"remove": [["comment", event.comment_id], *(["comment", r] for r in event.replies)]}]
        case VideoReady():
            video = ("video", event.video_id)
            found = [_tell(event.owner_id, "video_ready", video, data={"title": event.title})]
            if event.visibility == "public":
                found.append(_fanout("bell", "new_video", event.owner_id, video, {"title": event.title}))
        case VideoFailed():
            found = [
                _tell(
                    event.owner_id, "video_failed", ("video", event.video_id), data={"reason": event.reason}
                )
            ]
        case ClaimMade():
            found = [
                _tell(
                    event.video_owner_id,
                    "claim",
                    ("claim", event.claim_id),
                    context=("video", event.video_id),
                    data={"policy": event.policy},
                )
            ]
        case ClaimDisputed():
            found = [
                _tell(
                    event.reference_owner_id,
                    "claim_disputed",
                    ("claim", event.claim_id),
                    context=("video", event.video_id),
                )
            ]
        case ClaimResolved():
            found = [
                _tell(
                    event.video_owner_id,
                    "claim_resolved",
                    ("claim", event.claim_id),
                    context=("video", event.video_id),
                    data={"status": event.status},
                )
            ]
        case StreamWentLive():
            found = [
                _fanout(
                    "followers", "live", event.owner_id, ("stream", event.stream_id), {"title": event.title}
                )
            ]
        case TipReceived():
            # The tipper wrote the message for the creator: it is what the tip carries.
            found = [
                _tell(
                    event.creator_id,
                    "tip",
                    ("payment", event.tip_id or event.reference),
                    actor=event.payer_id,
                    data={"amount": event.amount, "currency": event.currency, "message": event.message},
                )
            ]
        case PaymentReceived():
            found = [
                _tell(
                    event.creator_id,
                    "payment",
                    ("payment", event.reference),
                    actor=event.payer_id,
                    data={"amount": event.amount, "currency": event.currency, "kind": event.kind},
                )
            ]
        case PayoutSent():
            found = [
                _tell(
                    event.creator_id,
                    "payout",
                    ("payout", event.payout_id),
                    data={"amount": event.amount, "currency": event.currency, "month": event.month},
                )
            ]
        case ContentHeld():  # held for review: what it told anyone is withdrawn
            found = [{"remove": [[event.subject_type, event.subject_id]]}]
        case ContentReleased():  # released: told now, as its announcement would have been
            found = items_of(event.announcement)
        case ModerationAction():
            found = [
                _tell(
                    event.owner_id,
                    "moderation",
                    (event.subject_type, event.subject_id),
                    data={
                        "action": event.action,
                        "reason": event.reason,
                        "until": event.until,
                        "case_id": event.case_id,
                        "appeal_path": event.appeal_path,
                    },
                )
            ]
        case NotificationRequested():
            context = (
                (event.context_type, event.context_id) if event.context_type and event.context_id else None
            )
            found = [
                _tell(
                    event.user_id,
                    event.type,
                    (event.subject_type, event.subject_id),
                    actor=event.actor_id,
                    context=context,
                    data=dict(event.data),
                )
            ]
        case _:
            found = []
    at = utcnow().isoformat()
    return [{**item, "at": at} for item in found if item is not None]


#: The events the domain listens to.
SOURCES: tuple[type[Event], ...] = (
    UserFollowed,
    PostLiked,
    VideoLiked,
    CommentLiked,
    CommentWritten,
    PostCreated,
    PostDeleted,
    CommentDeleted,
    VideoReady,
    VideoFailed,
    ClaimMade,
    ClaimDisputed,
    ClaimResolved,
    StreamWentLive,
    PaymentReceived,
    PayoutSent,
    ModerationAction,
    ContentHeld,
    ContentReleased,
    NotificationRequested,
)


class Intake:
    """The hub subscriber: posts the items events ask for to the mailbox (``post``, one call per
    batch: ``Mailbox.post``).

    Items are gathered for up to ``window`` seconds (or ``max_items``) and posted as one batch
    from the window's thread, so a burst of a thousand likes is a few rows, and the producer's
    request pays nothing but a list append. ``window`` 0 posts each event's items at once, in
    the producer's thread. Items waiting in a window are lost if the process dies within it
    (logged nowhere: the window is tens of milliseconds); ``flush`` posts them now (``close``
    does, at shutdown).

    A mailbox that cannot be written loses those notifications (logged); the producer's change
    stands and its request succeeds.
    """

    def __init__(
        self, post: Callable[[list[Item]], object], *, window: float = 0.0, max_items: int = 500
    ) -> None:
        self.post = post
        self.window = window
        self.max_items = max_items
        self._pending: list[Item] = []
        self._since = 0.0
        self._wake = threading.Condition()
        #: Held while a batch is taken and posted, so ``flush`` returns only once every item given
        #: before it is in the mailbox (none is still on its way from the window's thread).
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __call__(self, event: Event) -> None:
        items = items_of(event)
        if not items:
            return
        if self.window <= 0:
            self._send(items)
            return
        with self._wake:
            if not self._pending:
                self._since = time.monotonic()
            self._pending.extend(items)
            full = len(self._pending) >= self.max_items
            if not full and self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="notifications-intake", daemon=True)
                self._thread.start()
            self._wake.notify()
        if full:
            self.flush()

    def flush(self) -> None:
        """Post the items waiting in the window now; returns once they are in the mailbox."""
        with self._sending:
            with self._wake:
                batch, self._pending = self._pending, []
            if batch:
                self._send(batch)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                left = self._since + self.window - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
            self.flush()

    def _send(self, items: list[Item]) -> None:
        try:
            self.post(items)
        except Exception:  # the producers' changes are committed; their notifications are what is lost
            log.exception("%d notification items lost: the mailbox refused", len(items))


def subscribe(events: EventHub, intake: Callable[[Event], object]) -> None:
    """Subscribe ``intake`` to every source event on ``events``."""
    for source in SOURCES:
        events.subscribe(source, intake)
