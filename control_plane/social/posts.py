"""The posts service: the only code that makes or deletes a post, its tags and its mentions.

A post is text of at most ``MAX_TEXT`` characters, optionally with a video its author can see;
a reply (``reply_to``), a repost (``repost_of``: no text, one per account and post, a repost of a
repost reposts the original) or a quote (``quote_of``: text about another post). Deleting a post
deletes its reposts and every like of it, and lowers the counts they were part of.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.accounts.models import User, username_key
from control_plane.core.db import new_id, utcnow
from control_plane.core.errors import Conflict, Forbidden
from control_plane.social.audience import Viewer, blocked_between, visible_video
from control_plane.social.counters import add, upsert
from control_plane.social.errors import InvalidContent
from control_plane.social.events import PostCreated, PostDeleted
from control_plane.social.models import Hashtag, Post, PostMention, PostTag
from control_plane.social.postviews import post_views, reachable_post
from control_plane.social.schemas import PostOut
from control_plane.social.text import Parsed, parse
from control_plane.social.writer import LimitedWriter

__all__ = ["MAX_MENTIONS", "MAX_TAGS", "MAX_TEXT", "Draft", "PostService"]

MAX_TEXT = 500  # characters (Unicode code points)
MAX_TAGS = 10
MAX_MENTIONS = 10


@dataclass(frozen=True)
class Draft:
    """What the author sent: text, and at most one of reply_to, repost_of and quote_of."""

    text: str = ""
    video_id: str | None = None
    reply_to: str | None = None
    repost_of: str | None = None
    quote_of: str | None = None


class PostService(LimitedWriter):
    """Makes and deletes posts, changing their authors' ``posts`` through ``counts``; ``limit``
    counts every post a user makes (429 past it)."""

    def create(self, author: Viewer, draft: Draft) -> PostOut:
        assert author.user_id is not None
        text = draft.text.strip()
        self._check(draft, text)
        self.limiter.hit(self.limit, author.user_id)
        parsed = parse(text)
        if len(parsed.hashtags) > MAX_TAGS or len(parsed.mentions) > MAX_MENTIONS:
            raise InvalidContent(
                f"A post holds at most {MAX_TAGS} hashtags and {MAX_MENTIONS} mentions.", code="TOO_MANY_TAGS"
            )
        with self.db.session() as session:
            post = Post(id=new_id(), author_id=author.user_id, text=text, created_at=utcnow())
            refs = self._refer(session, post, draft, author)
            if draft.video_id is not None:
                post.video_id = visible_video(session, draft.video_id, author).id
            session.add(post)
            try:
                session.flush()
            except IntegrityError as exc:  # the same repost made at the same moment, or a post just deleted
                raise Conflict(
                    "The post changed while yours was made; try again.", code="CONCURRENT_CHANGE"
                ) from exc
            mentioned = self._tag_and_mention(session, post, parsed)
            self.counts(session, post.author_id, posts=1)
            view = post_views(session, [post], author)[0]
        self.events.publish(
            PostCreated(
                post_id=post.id,
                author_id=post.author_id,
                hashtags=tuple(t.key for t in parsed.hashtags),
                mentioned_ids=mentioned,
                video_id=post.video_id,
                **refs,
            )
        )
        return view

    @staticmethod
    def _check(draft: Draft, text: str) -> None:
        refs = [r for r in (draft.reply_to, draft.repost_of, draft.quote_of) if r is not None]
        if len(refs) > 1:
            raise InvalidContent(
                "Give at most one of reply_to, repost_of and quote_of.", code="ONE_REFERENCE"
            )
        if len(text) > MAX_TEXT:
            raise InvalidContent(f"A post holds at most {MAX_TEXT} characters.", code="TEXT_TOO_LONG")
        if draft.repost_of is not None and (text or draft.video_id):
            raise InvalidContent(
                "A repost has no text or video of its own; quote instead.", code="REPOST_HAS_TEXT"
            )
        if draft.repost_of is None and not text and draft.video_id is None:
            raise InvalidContent("Write something, or attach a video.", code="EMPTY_POST")

    def _refer(self, session: Session, post: Post, draft: Draft, author: Viewer) -> dict[str, str | None]:
        """Link the post to the one it replies to, reposts or quotes, counting it there; returns
        the reference fields of the event."""
        assert author.user_id is not None
        if draft.reply_to is not None:
            parent = self._original(session, draft.reply_to, author.user_id)
            post.reply_to = parent.id
            add(session, Post, Post.id == parent.id, replies=1)
            return {"reply_to": parent.id, "reply_to_author_id": parent.author_id}
        if draft.quote_of is not None:
            quoted = self._original(session, draft.quote_of, author.user_id)
            post.quote_of = quoted.id
            return {"quote_of": quoted.id, "quote_of_author_id": quoted.author_id}
        if draft.repost_of is not None:
            original = self._original(session, draft.repost_of, author.user_id)
            taken = session.execute(
                sa.select(Post.id).where(Post.repost_of == original.id, Post.author_id == author.user_id)
            ).first()
            if taken is not None:
                raise Conflict("You have reposted this post already.", code="ALREADY_REPOSTED")
            post.repost_of = original.id
            add(session, Post, Post.id == original.id, reposts=1)
            return {"repost_of": original.id, "repost_of_author_id": original.author_id}
        return {}

    @staticmethod
    def _original(session: Session, post_id: str, viewer_id: str) -> Post:
        """The post ``post_id`` points at: itself, or the original a repost shares (a reply to,
        repost or quote of a repost is one of its original). 404 across a block."""
        post = reachable_post(session, post_id, viewer_id)
        return reachable_post(session, post.repost_of, viewer_id) if post.repost_of else post

    @staticmethod
    def _tag_and_mention(session: Session, post: Post, parsed: Parsed) -> tuple[str, ...]:
        """Record the post's tags and mentions; the ids of the mentioned accounts the author may
        reach (none across a block: a blocked account is not notified)."""
        for tag in parsed.hashtags:
            session.add(
                PostTag(
                    post_id=post.id,
                    tag=tag.key,
                    name=tag.name,
                    author_id=post.author_id,
                    created_at=post.created_at,
                )
            )
            stmt = upsert(session, Hashtag).values(
                tag=tag.key, name=tag.name, posts=1, last_used_at=post.created_at
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tag"],
                    set_={"posts": Hashtag.__table__.c.posts + 1, "last_used_at": post.created_at},
                )
            )
        if not parsed.mentions:
            return ()
        keys = {username_key(name) for name in parsed.mentions}  # @Ada mentions ada
        active = sa.select(User.id).where(User.username_key.in_(keys), User.is_active.is_(True))
        users = session.execute(active).scalars().all()
        reachable = []
        for user_id in users:
            session.add(PostMention(post_id=post.id, user_id=user_id))
            if user_id != post.author_id and not blocked_between(session, post.author_id, user_id):
                reachable.append(user_id)
        return tuple(reachable)

    # -- reading and deleting ---------------------------------------------------------------

    def get(self, post_id: str, viewer: Viewer) -> PostOut:
        with self.db.session() as session:
            return post_views(
                session,
                [reachable_post(session, post_id, viewer.user_id, moderator=viewer.moderator)],
                viewer,
            )[0]

    def delete(self, post_id: str, actor: Viewer) -> None:
        """Delete the post (its author or a moderator), its reposts and its likes."""
        with self.db.session() as session:
            post = reachable_post(session, post_id, actor.user_id, moderator=actor.moderator)
            if post.author_id != actor.user_id and not actor.moderator:
                raise Forbidden("Only the post's author or a moderator can delete it.", code="NOT_AUTHOR")
            event = self._remove(session, post)
        self.events.publish(event)

    def forget(self, session: Session, user_id: str) -> list[PostDeleted]:
        """In the caller's transaction, delete every post of an account that is about to go,
        lowering the counts of others (the reposts of their posts, the replies they wrote) as a
        deletion by hand would; the events to publish once it is committed."""
        events = []
        for post_id in session.execute(sa.select(Post.id).where(Post.author_id == user_id)).scalars().all():
            post = session.get(Post, post_id)
            if post is not None:  # not already gone as a repost of one of theirs
                events.append(self._remove(session, post))
                session.flush()
        return events

    def _remove(self, session: Session, post: Post) -> PostDeleted:
        reposts = session.execute(sa.select(Post.id, Post.author_id).where(Post.repost_of == post.id)).all()
        gone = Counter([*(r.author_id for r in reposts), post.author_id])
        for author_id in sorted(gone):  # in id order, as every writer of these counts
            self.counts(session, author_id, posts=-gone[author_id])
        tags = session.execute(sa.select(PostTag.tag).where(PostTag.post_id == post.id)).scalars().all()
        if not post.held:  # a held post left its tags' counts when it was held (ReviewHolds)
            add(session, Hashtag, Hashtag.tag.in_(tags), posts=-1)
        if post.reply_to is not None:
            add(session, Post, Post.id == post.reply_to, replies=-1)
        if post.repost_of is not None:
            add(session, Post, Post.id == post.repost_of, reposts=-1)
        session.execute(sa.delete(Post).where(Post.repost_of == post.id))
        session.delete(post)
        return PostDeleted(post_id=post.id, author_id=post.author_id, reposts=tuple(r.id for r in reposts))
