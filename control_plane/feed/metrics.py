"""Prometheus metrics of the feed: how long a share takes to reach its readers' timelines, how
big timelines are, how often reads rebuild a timeline or merge pulled authors in.

In ``serve`` they land in the API's ``/metrics``; the fan-out's, in a ``socialflow worker``
process tree, in the workers' (``--metrics-port``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "FANOUT_LAG",
    "FANOUT_WRITES",
    "PULL_MERGES",
    "READS",
    "REBUILDS",
    "TIMELINE_ENTRIES",
]

FANOUT_LAG = Histogram(
    "socialflow_feed_fanout_lag_seconds",
    "From a share being made to its fan-out into every active follower's timeline",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
FANOUT_WRITES = Counter(
    "socialflow_feed_fanout_writes_total", "Timeline writes made by fan-outs (one per follower reached)"
)
TIMELINE_ENTRIES = Histogram(
    "socialflow_feed_timeline_entries",
    "Entries of the timeline a read found",
    buckets=(0, 10, 50, 100, 200, 400, 800, 1000),
)
READS = Counter("socialflow_feed_reads_total", "Home feed pages served", ["algorithm"])
REBUILDS = Counter("socialflow_feed_rebuilds_total", "Timelines rebuilt from the database on read")
PULL_MERGES = Counter(
    "socialflow_feed_pull_merges_total", "Reads that merged items of pulled (many-followed) authors"
)
