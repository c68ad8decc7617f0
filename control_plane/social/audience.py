"""Who may see what: the accounts hidden from a viewer, and the videos and users a viewer can reach.

A block hides each of the pair from the other; a mute hides the muted account from the muter
alone. Every list of the social domain (and search) filters its authors through
:func:`visible_to`, so hidden accounts' content never reaches the viewer.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User, username_key
from control_plane.core.errors import NotFound
from control_plane.social.errors import Blocked, NoSuchUser
from control_plane.social.models import Block, Mute
from control_plane.videos.models import Video

__all__ = [
    "Viewer",
    "blocked_between",
    "ensure_not_blocked",
    "hidden_from",
    "hidden_pairs",
    "hides",
    "user_named",
    "visible_to",
    "visible_video",
]

#: Visibilities anyone holding the link may see (``private`` and members-only are not among them).
LISTED = ("public", "unlisted")


class Viewer:
    """The caller of a read: a user id (None: anonymous) and whether they moderate."""

    def __init__(self, user_id: str | None, *, moderator: bool = False) -> None:
        self.user_id = user_id
        self.moderator = moderator


def hidden_from(viewer_id: str) -> sa.CompoundSelect:
    """The ids of the accounts whose content ``viewer_id`` must not see."""
    return sa.union(
        sa.select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        sa.select(Block.blocker_id).where(Block.blocked_id == viewer_id),
        sa.select(Mute.muted_id).where(Mute.muter_id == viewer_id),
    )


def hides(viewer: Any, author: Any) -> sa.ColumnElement[bool]:
    """True where ``author`` is hidden from ``viewer`` (both columns, of each row): a block either
    way or the viewer's mute, as EXISTS probes of those tables' primary keys."""
    return sa.or_(
        sa.exists().where(Block.blocker_id == viewer, Block.blocked_id == author),
        sa.exists().where(Block.blocker_id == author, Block.blocked_id == viewer),
        sa.exists().where(Mute.muter_id == viewer, Mute.muted_id == author),
    )


def hidden_pairs(session: Session, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of the (viewer, author) pairs where the author is hidden from the viewer (a block
    either way, or the viewer's mute): two statements for any number of pairs."""
    if not pairs:
        return set()
    viewers, authors = {v for v, _ in pairs}, {a for _, a in pairs}
    found: set[tuple[str, str]] = set()
    blocks = session.execute(
        sa.select(Block.blocker_id, Block.blocked_id).where(
            sa.or_(
                sa.and_(Block.blocker_id.in_(viewers), Block.blocked_id.in_(authors)),
                sa.and_(Block.blocked_id.in_(viewers), Block.blocker_id.in_(authors)),
            )
        )
    )
    for a, b in blocks:
        found |= {(a, b), (b, a)}
    mutes = session.execute(
        sa.select(Mute.muter_id, Mute.muted_id).where(Mute.muter_id.in_(viewers), Mute.muted_id.in_(authors))
    )
    found |= {(a, b) for a, b in mutes}
    return found & pairs


def visible_to(author: sa.ColumnElement[Any] | Any, viewer_id: str | None) -> sa.ColumnElement[bool]:
    """True where ``author`` (a user id column) is not hidden from the viewer."""
    if viewer_id is None:
        return sa.true()
    return sa.not_(author.in_(hidden_from(viewer_id)))


def blocked_between(session: Session, a: str, b: str) -> bool:
    """True when either of the two has blocked the other."""
    pair = sa.or_(
        sa.and_(Block.blocker_id == a, Block.blocked_id == b),
        sa.and_(Block.blocker_id == b, Block.blocked_id == a),
    )
    return session.execute(sa.select(sa.literal(1)).where(pair).limit(1)).first() is not None


def user_named(session: Session, username: str, viewer_id: str | None = None) -> User:
    """The active user called ``username`` in any case (its ``username_key``, as at sign-in);
    NoSuchUser when there is none, and for a viewer blocked by that user (who must not find them)."""
    user = session.execute(
        sa.select(User).where(User.username_key == username_key(username), User.is_active.is_(True))
    ).scalar_one_or_none()
    if user is None:
        raise NoSuchUser()
    if viewer_id is not None and viewer_id != user.id:
        blocked_by = sa.select(Block).where(Block.blocker_id == user.id, Block.blocked_id == viewer_id)
        if session.execute(blocked_by.limit(1)).first() is not None:
            raise NoSuchUser()
    return user


def visible_video(session: Session, video_id: str, viewer: Viewer) -> Video:
    """The video if the viewer may see it: its owner and moderators always, others once it is
    ready and not private, unless its owner and the viewer are blocked either way. 404 otherwise,
    so a private video is not revealed."""
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    if viewer.moderator or video.owner_id == viewer.user_id:
        return video
    if video.status != "ready" or video.visibility not in LISTED:
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    if viewer.user_id is not None and blocked_between(session, viewer.user_id, video.owner_id):
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    return video


def ensure_not_blocked(session: Session, a: str, b: str) -> None:
    """Blocked when either of the two has blocked the other."""
    if a != b and blocked_between(session, a, b):
        raise Blocked()
