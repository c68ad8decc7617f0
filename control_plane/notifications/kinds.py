"""Every notification type in one table: whether it groups, its default channels, how long a push
of it may wait at the push service (TTL, seconds) and how urgent it is (RFC 8030 ``Urgency``), and
the sentence that says it.

The defaults follow what people expect of a video platform: everything in the app, a push for
what someone did to or for you, an email at once only where money, rights or a removal is
involved; the rest waits for the digest.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHANNELS", "KINDS", "Kind", "kind", "sentence"]

CHANNELS = ("in_app", "push", "email")
HOUR, DAY = 3600, 24 * 3600


@dataclass(frozen=True)
class Kind:
    name: str
    #: Sentence with ``{actor}`` (who, or "ada and 12 others") for the in-app text and the push.
    says: str
    groups: bool = False
    in_app: bool = True
    push: bool = True
    email: bool = False
    #: Seconds a push may wait at the push service for an offline device.
    ttl: int = DAY
    #: ``very-low``, ``low``, ``normal`` or ``high`` (RFC 8030 section 5.3).
    urgency: str = "normal"

    def default(self, channel: str) -> bool:
        return bool(getattr(self, channel))


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("follow", "{actor} followed you", groups=True, urgency="low"),
        Kind("like", "{actor} liked your {subject}", groups=True, urgency="low"),
        Kind("comment", "{actor} commented on your video"),
        Kind("reply", "{actor} replied to you"),
        Kind("mention", "{actor} mentioned you"),
        Kind("repost", "{actor} reposted your post", urgency="low"),
        Kind("quote", "{actor} quoted your post"),
        Kind("new_video", "{actor} uploaded a new video", urgency="low"),
        Kind("new_post", "{actor} posted", urgency="low"),
        Kind("live", "{actor} is live now", ttl=15 * 60, urgency="high"),
        Kind("claim", "A Content-ID claim was made on your video", email=True, ttl=3 * DAY, urgency="high"),
        Kind("claim_disputed", "A claim of yours was disputed", email=True, ttl=3 * DAY),
        Kind("claim_resolved", "A dispute on your video was decided", email=True, ttl=3 * DAY),
        Kind("video_ready", "Your video is ready", ttl=DAY),
        Kind("video_failed", "Your video could not be processed", email=True, ttl=DAY),
        Kind("payment", "You received a payment", email=True, ttl=3 * DAY),
        Kind("tip", "{actor} sent you a tip", email=True, ttl=3 * DAY),
        Kind("payout", "Your earnings were paid out", email=True, ttl=3 * DAY),
        Kind(
            "moderation",
            "A moderator made a decision about your content",
            email=True,
            ttl=3 * DAY,
            urgency="high",
        ),
    )
}

#: How a subject is named in a sentence ("liked your comment").
SUBJECT_WORDS = {"post": "post", "video": "video", "comment": "comment"}


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown notification type {name!r}; known: {', '.join(KINDS)}") from None


def sentence(type_: str, actor: str | None, others: int, subject_type: str) -> str:
    """The words of a notification: ``ada and 12 others liked your video``."""
    who = actor or "Someone"
    if others == 1:
        who = f"{who} and 1 other"
    elif others > 1:
        who = f"{who} and {others} others"
    return kind(type_).says.format(actor=who, subject=SUBJECT_WORDS.get(subject_type, subject_type))
