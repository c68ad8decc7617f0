"""Analytics charts as PNG pictures (matplotlib, drawn off-screen by the ``analytics.chart`` job)."""

from __future__ import annotations

import io

from control_plane.analytics.report import Report

__all__ = ["KINDS", "render"]

KINDS = ("retention", "daily")


def render(report: Report, kind: str) -> bytes:
    """The ``retention`` curve (share of viewers still watching at each second) or the ``daily``
    views and watch hours, as a 1000×500 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5), dpi=100)
    axes = figure.subplots()
    if kind == "retention":
        seconds = [p.second for p in report.retention]
        axes.fill_between(seconds, [p.share * 100 for p in report.retention], step="post", alpha=0.35)
        axes.step(seconds, [p.share * 100 for p in report.retention], where="post")
        axes.set_xlabel("seconds into the video")
        axes.set_ylabel("viewers still watching (%)")
        axes.set_ylim(0, 105)
        axes.set_title(f"Audience retention, {report.start} to {report.end}")
    elif kind == "daily":
        days = [d.day.toordinal() for d in report.daily]
        axes.bar(days, [d.views for d in report.daily], color="#3b6ea8", label="views")
        axes.set_ylabel("views")
        hours = axes.twinx()
        hours.plot(days, [d.watch_seconds / 3600 for d in report.daily], color="#d9822b", marker="o")
        hours.set_ylabel("watch hours", color="#d9822b")
        axes.set_title(f"Daily views and watch time, {report.start} to {report.end}")
        step = max(1, len(days) // 10)
        axes.set_xticks(days[::step], [d.day.strftime("%b %d") for d in report.daily][::step])
        figure.autofmt_xdate()
    else:
        raise ValueError(f"unknown chart {kind!r}; one of {', '.join(KINDS)}")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
