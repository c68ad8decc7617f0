"""Every job type's limits in one table: queue, attempts, time limit, priority.

Actors are declared from this table, so a limit is changed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.mail import MailNotConfigured, MailRejected
from pipelines import MediaError

__all__ = ["JobSpec", "JOBS", "QUEUES", "spec"]


@dataclass(frozen=True)
class JobSpec:
    """Limits of one job type.

    ``attempts`` counts the first run (3 means two retries); ``time_limit`` is seconds;
    ``priority`` is Dramatiq's: lower runs first within a worker; backoffs are seconds.
    """

    kind: str
    actor: str
    queue: str
    attempts: int
    time_limit: float
    priority: int = 0
    min_backoff: float = 1.0
    max_backoff: float = 60.0
    #: Errors that no retry can fix (bad input): the job fails at once.
    throws: tuple[type[Exception], ...] = ()

    @property
    def max_retries(self) -> int:
        return self.attempts - 1


JOBS: dict[str, JobSpec] = {
    s.kind: s
    for s in (
        # A round trip through the worker, the database and the blob store: proves a deployment works.
        JobSpec("canary", "workers.actors.canary:run", queue="default", attempts=3, time_limit=60),
        # Turns an uploaded source into what viewers play. Bad input fails at once, without retries.
        JobSpec(
            "video.process",
            "workers.actors.video:process",
            queue="transcode",
            attempts=3,
            time_limit=4 * 3600,
            priority=10,
            min_backoff=5,
            max_backoff=300,
            throws=(MediaError,),
        ),
        # One part of a long video's chunked transcode (a run of segments, the audio or the stills).
        JobSpec(
            "video.part",
            "workers.actors.chunked:part",
            queue="transcode",
            attempts=3,
            time_limit=2 * 3600,
            priority=10,
            min_backoff=5,
            max_backoff=300,
            throws=(MediaError,),
        ),
        # Writes the manifests of a chunked transcode once every part is in.
        JobSpec(
            "video.finalize",
            "workers.actors.chunked:finalize",
            queue="transcode",
            attempts=3,
            time_limit=3600,
            priority=5,
            min_backoff=5,
            max_backoff=300,
            throws=(MediaError,),
        ),
        # Content-ID: fingerprint and match each upload; index and un-index references.
        JobSpec(
            "contentid.match",
            "workers.actors.contentid:match",
            queue="contentid",
            attempts=3,
            time_limit=3600,
            priority=20,
            min_backoff=5,
            max_backoff=300,
        ),
        JobSpec(
            "contentid.reference",
            "workers.actors.contentid:reference",
            queue="contentid",
            attempts=5,
            time_limit=3600,
            priority=20,
            min_backoff=5,
            max_backoff=300,
        ),
        JobSpec(
            "contentid.unreference",
            "workers.actors.contentid:unreference",
            queue="contentid",
            attempts=5,
            time_limit=600,
            priority=20,
            min_backoff=5,
            max_backoff=300,
        ),
        # Makes a finished live session's recording a video of the streamer and starts its processing.
        JobSpec(
            "live.record",
            "workers.actors.live:record",
            queue="default",
            attempts=3,
            time_limit=300,
            priority=5,
            min_backoff=2,
            max_backoff=60,
        ),
        # One mail (verification, password reset), sealed in the job's arguments; retried if SMTP fails.
        JobSpec(
            "email.send",
            "workers.actors.email:send",
            queue="default",
            attempts=8,
            time_limit=120,
            priority=1,
            min_backoff=2,
            max_backoff=900,
            throws=(MailRejected, MailNotConfigured),
        ),
        # Ends live streams whose ingest died (its lease lapsed); enqueued periodically by the API processes.
        JobSpec(
            "live.sweep",
            "workers.actors.live:sweep",
            queue="default",
            attempts=1,
            time_limit=300,
            priority=5,
        ),
        # Deletes the blobs of removed videos, avatars or accounts when the store refused at removal.
        JobSpec(
            "blobs.purge",
            "workers.actors.blobs:purge",
            queue="default",
            attempts=10,
            time_limit=3600,
            priority=50,
            min_backoff=10,
            max_backoff=3600,
        ),
        # Scores the hashtags used lately (Mastodon's trends); enqueued periodically by the API processes.
        JobSpec(
            "hashtags.trends",
            "workers.actors.social:trends",
            queue="default",
            attempts=1,
            time_limit=300,
            priority=40,
        ),
        # Indexes the videos and accounts changed since its last run; enqueued periodically.
        JobSpec(
            "search.refresh",
            "workers.actors.social:refresh_search",
            queue="default",
            attempts=1,
            time_limit=600,
            priority=30,
        ),
        # The month's revenue share and creators' payouts; enqueued periodically (idempotent per
        # creator and month), so a creator onboarded late is paid on a later run.
        JobSpec(
            "payouts.run",
            "workers.actors.payments:run_payouts",
            queue="default",
            attempts=5,
            time_limit=3600,
            priority=40,
            min_backoff=60,
            max_backoff=3600,
        ),
        # Rolls finished watch sessions into retention and prunes old ones; enqueued periodically.
        JobSpec(
            "views.rollup",
            "workers.actors.views:rollup",
            queue="default",
            attempts=1,
            time_limit=1800,
            priority=40,
        ),
        # Turns what every intake left in the notifications mailbox into notifications (inbox,
        # WebSockets) and asks for their pushes and mails; kicked by the intakes, at most one waiting.
        JobSpec(
            "notifications.drain",
            "workers.actors.notifications:drain",
            queue="notifications",
            attempts=5,
            time_limit=120,
            priority=0,
            min_backoff=1,
            max_backoff=30,
        ),
        # The same from items in the job's arguments: the jobs intakes sent before the mailbox.
        JobSpec(
            "notifications.ingest",
            "workers.actors.notifications:ingest",
            queue="notifications",
            attempts=5,
            time_limit=120,
            priority=0,
            min_backoff=1,
            max_backoff=60,
        ),
        # One batch of a fan-out (a new video to its channel's bells, a stream live to its
        # followers); enqueues the next batch. Its own queue: a burst never holds up the others.
        JobSpec(
            "notifications.fanout",
            "workers.actors.notifications:fanout",
            queue="notifications-bulk",
            attempts=5,
            time_limit=600,
            priority=20,
            min_backoff=2,
            max_backoff=300,
        ),
        # Pushes notifications to their recipients' devices; retries the devices that failed.
        JobSpec(
            "notifications.push",
            "workers.actors.notifications:push",
            queue="notifications",
            attempts=6,
            time_limit=300,
            priority=5,
            min_backoff=2,
            max_backoff=600,
        ),
        # Posts the email digests that are due; enqueued periodically by the API processes.
        JobSpec(
            "notifications.digests",
            "workers.actors.notifications:digests",
            queue="notifications-bulk",
            attempts=1,
            time_limit=1800,
            priority=40,
        ),
        # Draws a creator's analytics chart into the blob store (the API serves it from there).
        JobSpec(
            "analytics.chart",
            "workers.actors.analytics:chart",
            queue="default",
            attempts=2,
            time_limit=120,
            priority=20,
        ),
        # Pre-screens the posts, comments and videos made or changed since its last run.
        JobSpec(
            "moderation.screen",
            "workers.actors.moderation:screen",
            queue="default",
            attempts=1,
            time_limit=600,
            priority=30,
        ),
        # Fits the recommendation model on the latest watching; enqueued periodically.
        JobSpec(
            "recommendations.train",
            "workers.actors.recommendations:train",
            queue="default",
            attempts=2,
            time_limit=3600,
            priority=60,
        ),
        # Remuxes an ad creative's renditions into the progressive MP4 that ad players want.
        JobSpec(
            "ads.creative",
            "workers.actors.ads:creative",
            queue="default",
            attempts=3,
            time_limit=300,
            priority=15,
            min_backoff=2,
            max_backoff=60,
            throws=(MediaError,),
        ),
        # Removes notifications past their retention; enqueued periodically by the API processes.
        JobSpec(
            "notifications.sweep",
            "workers.actors.notifications:sweep",
            queue="notifications-bulk",
            attempts=1,
            time_limit=1800,
            priority=50,
        ),
        # Pushes a new post or public video into its author's active followers' home timelines.
        JobSpec(
            "feed.fanout",
            "workers.actors.feed:fanout",
            queue="feed",
            attempts=5,
            time_limit=600,
            priority=0,
            min_backoff=1,
            max_backoff=60,
        ),
        # Fits the ranked feed's model on the last 30 days of interactions; enqueued periodically.
        JobSpec(
            "feed.train",
            "workers.actors.feed:train",
            queue="default",
            attempts=1,
            time_limit=1800,
            priority=60,
        ),
        # Removes unfinished uploads past their expiry; enqueued periodically by the API processes.
        JobSpec(
            "uploads.sweep",
            "workers.actors.uploads:sweep",
            queue="default",
            attempts=1,
            time_limit=600,
            priority=50,
        ),
    )
}

QUEUES: tuple[str, ...] = tuple(sorted({s.queue for s in JOBS.values()}))


def spec(kind: str) -> JobSpec:
    try:
        return JOBS[kind]
    except KeyError:
        raise KeyError(f"unknown job kind {kind!r}; known: {', '.join(sorted(JOBS))}") from None
