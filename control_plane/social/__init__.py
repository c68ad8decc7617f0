"""The social domain: the graph, posts, comments, likes, hashtags and their trends.

Each table has one writer: ``GraphService`` (follows, blocks, mutes), ``PostService`` (posts,
their tags and mentions, hashtags), ``CommentService`` (comments), ``LikeService`` (likes and
the counts of posts and comments) and ``TrendService`` (the trends). ``Timelines`` only reads.
The counts shown on a profile and a video live on the channel's and the video's rows; the
domain changes them through the count writers it is built with (``build_social``). Every change
is announced on the events hub once committed (``social.events``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from control_plane.core.db import Database
from control_plane.core.events import Event, EventHub
from control_plane.core.leftovers import Leftovers
from control_plane.core.ratelimit import Limit, RateLimiter
from control_plane.core.settings import Settings
from control_plane.social.audience import Viewer
from control_plane.social.comments import CommentService
from control_plane.social.counters import CountWriter
from control_plane.social.graph import GraphService
from control_plane.social.holds import ReviewHolds
from control_plane.social.likes import LikeService
from control_plane.social.posts import Draft, PostService
from control_plane.social.timelines import Timelines
from control_plane.social.trends import TrendService
from control_plane.videos.models import Video

__all__ = [
    "CommentService",
    "Draft",
    "GraphService",
    "LikeService",
    "PostService",
    "ReviewHolds",
    "Social",
    "Timelines",
    "TrendService",
    "Viewer",
    "build_social",
]

HOUR = 3600.0


@dataclass(frozen=True)
class Social:
    graph: GraphService
    posts: PostService
    timelines: Timelines
    comments: CommentService
    likes: LikeService
    trends: TrendService
    #: Posts and comments held for the moderators' review (``holds.py``).
    holds: ReviewHolds

    def forget_user(self, session: Session, user_id: str) -> Leftovers:
        """Remove an account from the social domain, keeping every other account's counts right:
        the account closer's part of the domain (an ``OwnerRemover``), run in its transaction
        before the account's row goes. The foreign keys would remove the rows too, but not lower
        the counts of the posts, videos and accounts they were counted in. The posts' deletions
        and the follows it ended (a ``UserUnfollowed`` for each account it followed, which lost a
        subscriber) are announced once the account is gone (the leftovers' follow-up work)."""
        self.likes.forget(session, user_id)
        announced: list[Event] = [*self.comments.forget(session, user_id)]
        announced += self.posts.forget(session, user_id)
        announced += self.graph.forget(session, user_id)
        return Leftovers(then=[lambda: self.posts.events.publish(*announced)] if announced else [])

    def video_removed(self, session: Session, video: Video, leftovers: Leftovers) -> None:
        """The domain's part in removing a video (a ``VideoService`` remover): its comments, their
        likes and its likes go in the removing transaction; posts that showed it keep their text."""
        self.comments.video_removed(session, video)
        self.likes.video_removed(session, video)


def build_social(
    db: Database,
    events: EventHub,
    limiter: RateLimiter,
    settings: Settings,
    *,
    user_counts: CountWriter,
    video_counts: CountWriter,
) -> Social:
    """The domain's services, with the per-user hourly limits of the settings. The counts it
    changes are kept by the domains that show them: ``user_counts`` an account's ``followers``,
    ``following`` and ``posts`` (``ChannelService.add_counts``), ``video_counts`` a video's
    ``likes`` and ``comments`` (``VideoService.add_counts``)."""

    def hourly(name: str, count: int, what: str) -> Limit:
        return Limit(name, count, HOUR, message=f"At most {count} {what} an hour; try again in {{retry}} s.")

    return Social(
        graph=GraphService(
            db,
            events,
            limiter,
            hourly("follow", settings.follow_rate_per_hour, "follows"),
            counts=user_counts,
        ),
        posts=PostService(
            db, events, limiter, hourly("post", settings.post_rate_per_hour, "posts"), counts=user_counts
        ),
        timelines=Timelines(db),
        comments=CommentService(
            db,
            events,
            limiter,
            hourly("comment", settings.comment_rate_per_hour, "comments"),
            counts=video_counts,
        ),
        likes=LikeService(db, events, counts=video_counts),
        trends=TrendService(db, min_accounts=settings.trend_min_accounts, half_life=settings.trend_half_life),
        holds=ReviewHolds(video_counts),
    )
