"""The social graph's service: follows, blocks and mutes, and the counts they change.

Every change is idempotent (following twice is one follow). A block removes the follows between
the pair both ways, in the same transaction, and stops either from following the other again
until it is lifted. ``followers`` and ``following`` of each user move with the follow rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.social.audience import ensure_not_blocked, user_named, visible_to
from control_plane.social.counters import insert_new
from control_plane.social.errors import InvalidContent
from control_plane.social.events import UserBlocked, UserFollowed, UserUnfollowed
from control_plane.social.models import Block, Follow, Mute
from control_plane.social.schemas import UserItem
from control_plane.social.writer import LimitedWriter

__all__ = ["GraphService"]

#: Each list: when the account entered it, then the account (the unique tie-breaker).
FOLLOWERS = Order("followers", (Follow.created_at, Follow.follower_id))
FOLLOWING = Order("following", (Follow.created_at, Follow.followee_id))
BLOCKS = Order("blocks", (Block.created_at, Block.blocked_id))
MUTES = Order("mutes", (Mute.created_at, Mute.muted_id))


class GraphService(LimitedWriter):
    """Owns the follows, blocks and mutes tables; changes the accounts' ``followers`` and
    ``following`` through ``counts``. ``limit`` counts every follow, block and mute a user makes.
    """

    # -- follows ----------------------------------------------------------------------------

    def follow(self, follower_id: str, username: str) -> None:
        """Follow ``username``; Blocked when either has blocked the other."""
        self.limiter.hit(self.limit, follower_id)
        with self.db.session() as session:
            followee = user_named(session, username, follower_id)
            if followee.id == follower_id:
                raise InvalidContent("You cannot follow yourself.", code="CANNOT_FOLLOW_SELF")
            ensure_not_blocked(session, follower_id, followee.id)
            added = insert_new(session, Follow, follower_id=follower_id, followee_id=followee.id)
            if added:
                self._count(session, follower_id, followee.id, 1)
        if added:
            self.events.publish(UserFollowed(follower_id=follower_id, followee_id=followee.id))

    def unfollow(self, follower_id: str, username: str) -> None:
        """Stop following ``username`` (``UserUnfollowed`` when there was a follow to end)."""
        with self.db.session() as session:
            followee = user_named(session, username)
            ended = self._unfollow(session, follower_id, followee.id)
        if ended:
            self.events.publish(ended)

    def _unfollow(self, session: Session, follower_id: str, followee_id: str) -> UserUnfollowed | None:
        """End the follow in the caller's transaction; the event to announce once committed, or
        None when there was no follow."""
        gone = session.execute(
            sa.delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
        )
        if not gone.rowcount:  # type: ignore[attr-defined]
            return None
        self._count(session, follower_id, followee_id, -1)
        return UserUnfollowed(follower_id=follower_id, followee_id=followee_id)

    def _count(self, session: Session, follower_id: str, followee_id: str, delta: int) -> None:
        """Both accounts' counts, in the order of their ids: two follows between the same pair
        made at once, one each way, take the two rows' locks in the same order."""
        changes = {follower_id: {"following": delta}, followee_id: {"followers": delta}}
        for user_id in sorted(changes):
            self.counts(session, user_id, **changes[user_id])

    # -- blocks and mutes -------------------------------------------------------------------

    def block(self, blocker_id: str, username: str) -> None:
        """Block ``username``: the follows between you end both ways, and each is hidden from
        the other in every list."""
        self.limiter.hit(self.limit, blocker_id)
        with self.db.session() as session:
            blocked = user_named(session, username)
            if blocked.id == blocker_id:
                raise InvalidContent("You cannot block yourself.", code="CANNOT_BLOCK_SELF")
            added = insert_new(session, Block, blocker_id=blocker_id, blocked_id=blocked.id)
            ended = [
                e
                for e in (
                    self._unfollow(session, blocker_id, blocked.id),
                    self._unfollow(session, blocked.id, blocker_id),
                )
                if e is not None
            ]
        if ended:
            self.events.publish(*ended)
        if added:
            self.events.publish(UserBlocked(blocker_id=blocker_id, blocked_id=blocked.id))

    def unblock(self, blocker_id: str, username: str) -> None:
        with self.db.session() as session:
            blocked = user_named(session, username)
            session.execute(
                sa.delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked.id)
            )

    def mute(self, muter_id: str, username: str) -> None:
        """Hide ``username``'s content from you; they are not told, and follows stay."""
        self.limiter.hit(self.limit, muter_id)
        with self.db.session() as session:
            muted = user_named(session, username, muter_id)
            if muted.id == muter_id:
                raise InvalidContent("You cannot mute yourself.", code="CANNOT_MUTE_SELF")
            insert_new(session, Mute, muter_id=muter_id, muted_id=muted.id)

    def unmute(self, muter_id: str, username: str) -> None:
        with self.db.session() as session:
            muted = user_named(session, username)
            session.execute(sa.delete(Mute).where(Mute.muter_id == muter_id, Mute.muted_id == muted.id))

    def forget(self, session: Session, user_id: str) -> list[UserUnfollowed]:
        """In the caller's transaction, remove an account that is about to go from the graph,
        lowering the counts of the accounts it followed and of those that followed it; returns an
        unfollow of each account it followed, to announce once committed (each of their channels
        lost a subscriber: analytics counts it)."""
        followed = session.execute(
            sa.delete(Follow).where(Follow.follower_id == user_id).returning(Follow.followee_id)
        )
        ended = []
        for other in sorted(followed.scalars().all()):
            self.counts(session, other, followers=-1)
            ended.append(UserUnfollowed(follower_id=user_id, followee_id=other))
        followers = session.execute(
            sa.delete(Follow).where(Follow.followee_id == user_id).returning(Follow.follower_id)
        )
        for other in sorted(followers.scalars().all()):
            self.counts(session, other, following=-1)
        session.execute(
            sa.delete(Block).where(sa.or_(Block.blocker_id == user_id, Block.blocked_id == user_id))
        )
        session.execute(sa.delete(Mute).where(sa.or_(Mute.muter_id == user_id, Mute.muted_id == user_id)))
        return ended

    # -- lists -----------------------------------------------------------------------------

    def followers(
        self, username: str, viewer_id: str | None, page: PageParams
    ) -> tuple[list[UserItem], str | None]:
        """Who follows ``username``, most recent first, without accounts hidden from the viewer."""
        return self._list(username, viewer_id, page, Follow.followee_id, FOLLOWERS)

    def following(
        self, username: str, viewer_id: str | None, page: PageParams
    ) -> tuple[list[UserItem], str | None]:
        """Whom ``username`` follows, most recent first, without accounts hidden from the viewer."""
        return self._list(username, viewer_id, page, Follow.follower_id, FOLLOWING)

    def blocks(self, user_id: str, page: PageParams) -> tuple[list[UserItem], str | None]:
        return self._page(page, Block.blocker_id == user_id, BLOCKS, None)

    def mutes(self, user_id: str, page: PageParams) -> tuple[list[UserItem], str | None]:
        return self._page(page, Mute.muter_id == user_id, MUTES, None)

    def _list(
        self, username: str, viewer_id: str | None, page: PageParams, owner: Any, order: Order
    ) -> tuple[list[UserItem], str | None]:
        with self.db.session() as session:
            user = user_named(session, username, viewer_id)
        return self._page(page, owner == user.id, order, viewer_id)

    def _page(
        self, page: PageParams, where: sa.ColumnElement[bool], order: Order, viewer_id: str | None
    ) -> tuple[list[UserItem], str | None]:
        """The accounts in the order's second column, with when they entered the list (its first)."""
        other = order.columns[1]
        query: sa.Select = (
            sa.select(User.id, User.username, *order.columns)
            .join(User, User.id == other)
            .where(where, User.is_active.is_(True), visible_to(other, viewer_id))
        )
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, order, page)
        return [UserItem(id=r.id, username=r.username, since=r[2]) for r in rows], cursor

    @staticmethod
    def relationship(session: Session, viewer_id: str, user_id: str) -> dict[str, bool]:
        """``{is_following, is_blocked, is_muted}`` of the viewer towards ``user_id``, read in the
        caller's transaction (a profile's ``ChannelService.Relation``)."""

        def has(model: Any, *where: sa.ColumnElement[bool]) -> bool:
            query = sa.select(sa.literal(1)).select_from(model).where(*where).limit(1)
            return session.execute(query).first() is not None

        return {
            "is_following": has(Follow, Follow.follower_id == viewer_id, Follow.followee_id == user_id),
            "is_blocked": has(Block, Block.blocker_id == viewer_id, Block.blocked_id == user_id),
            "is_muted": has(Mute, Mute.muter_id == viewer_id, Mute.muted_id == user_id),
        }
