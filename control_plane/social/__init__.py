"""The social domain: the graph, posts, comments, likes, hashtags and their trends.

Each table has one writer: ``GraphService`` (follows, blocks, mutes and the follow counts),
``PostService`` (posts, their tags and mentions, hashtags), ``CommentService`` (comments),
``LikeService`` (likes and their counts) and ``TrendService`` (the trends). ``Timelines`` only
reads. Every change is announced on the events hub once committed (``social.events``).
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.ratelimit import Limit, RateLimiter
from control_plane.core.settings import Settings
from control_plane.social.audience import Viewer
from control_plane.social.comments import CommentService
from control_plane.social.counters import CountWriter, user_stats, video_stats
from control_plane.social.graph import GraphService
from control_plane.social.likes import LikeService
from control_plane.social.posts import Draft, PostService
from control_plane.social.timelines import Timelines
from control_plane.social.trends import TrendService

__all__ = [
    "CommentService",
    "Draft",
    "GraphService",
    "LikeService",
    "PostService",
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

    def forget_user(self, user_id: str) -> None:
        """Remove an account from the social domain, keeping every other account's counts right.

        Call it before the account's row is deleted: the foreign keys would remove the rows too,
        but not lower the counts of the posts, videos and accounts they were counted in.
        """
        self.likes.forget(user_id)
        self.comments.forget(user_id)
        self.posts.forget(user_id)
        self.graph.forget(user_id)


def build_social(
    db: Database,
    events: EventHub,
    limiter: RateLimiter,
    settings: Settings,
    *,
    user_counts: CountWriter = user_stats,
    video_counts: CountWriter = video_stats,
) -> Social:
    """The domain's services, with the per-user hourly limits of the settings; ``user_counts``
    and ``video_counts`` keep the counts the domain changes (its own tables by default)."""

    def hourly(name: str, count: int, what: str) -> Limit:
        return Limit(name, count, HOUR, message=f"At most {count} {what} an hour; try again in {{retry}} s.")

    return Social(
        graph=GraphService(
            db,
            events,
            limiter,
            hourly("follow", settings.follow_rate_per_hour, "follows"),
            user_counts=user_counts,
        ),
        posts=PostService(
            db, events, limiter, hourly("post", settings.post_rate_per_hour, "posts"), user_counts=user_counts
        ),
        timelines=Timelines(db),
        comments=CommentService(
            db,
            events,
            limiter,
            hourly("comment", settings.comment_rate_per_hour, "comments"),
            video_counts=video_counts,
        ),
        likes=LikeService(db, events, video_counts=video_counts),
        trends=TrendService(db, min_accounts=settings.trend_min_accounts, half_life=settings.trend_half_life),
    )
