"""The Content-ID figure: four panels drawn from the benchmark's JSON result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks._common import grouped_bars  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _accuracy_series(
    result: dict[str, Any], length: str, degradations: list[str]
) -> dict[str, list[float | None]]:
    series: dict[str, list[float | None]] = {}
    for name in ("ours", "audfprint"):
        system = result["audio"].get(name, {})
        if "accuracy" not in system:
            continue
        series[name] = [
            100 * system["accuracy"][d][length]["top1"] if length in system["accuracy"].get(d, {}) else None
            for d in degradations
        ]
    return series


def _first_length_top1(system: dict[str, Any], keys: list[str]) -> list[float | None]:
    accuracy = system.get("accuracy", {})
    return [100 * next(iter(accuracy[k].values()))["top1"] if k in accuracy else None for k in keys]


def plot(result: dict[str, Any], path: Path) -> None:
    """Write ``path`` (PNG): audio top-1 at 5 s and 10 s, whole-file audio, video edits, scale
    latency, and ingest speed."""
    fig, axes = plt.subplots(2, 3, figsize=(19, 9))
    degradations = list(result["audio"]["ours"]["accuracy"])
    for ax, length in zip(axes[0][:2], ("5s", "10s"), strict=True):
        grouped_bars(
            ax,
            degradations,
            _accuracy_series(result, length, degradations),
            ylabel="top-1 %",
            title=f"audio, {length} queries ({result['data']['references']} references)",
        )
    whole = result.get("whole_file", {})
    whole_deg = list(whole.get("ours", {}).get("accuracy", {}))
    series = {
        name: _first_length_top1(system, whole_deg) for name, system in whole.items() if "accuracy" in system
    }
    grouped_bars(
        axes[0][2], whole_deg, series, ylabel="top-1 %", title="whole-file audio (first seconds of a track)"
    )
    video = result.get("video", {})
    edits = list(video.get("ours", {}).get("per_edit", {}))
    v_series = {
        name: [100 * video[name]["per_edit"][e]["top1"] if e != "negative" else None for e in edits]
        for name in ("ours", "vpdq")
        if "per_edit" in video.get(name, {})
    }
    grouped_bars(axes[1][0], edits, v_series, ylabel="top-1 %", title="video edits (10 s queries)")
    for ax in (*axes[0], axes[1][0]):
        ax.set_ylim(0, 110)
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(fontsize=7)
    _scale_panel(axes[1][1], result.get("scale", {}))
    speeds = {"ours": result["audio"]["ours"]["ingest"]["realtime_per_core"]}
    if "ingest" in result["audio"].get("audfprint", {}):
        speeds["audfprint"] = result["audio"]["audfprint"]["ingest"]["realtime_per_core"]
    grouped_bars(
        axes[1][2],
        ["ingest"],
        {k: [v] for k, v in speeds.items()},
        ylabel="x realtime per core",
        title="ingest speed (decode + fingerprint)",
    )
    axes[1][2].axhline(200, color="red", linewidth=0.8, label="200x target")
    axes[1][2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _scale_panel(ax: Axes, scale: dict[str, Any]) -> None:
    points = scale.get("points", [])
    for mode, style in (("all_speeds", "o-"), ("speed_1_only", "s--")):
        for key in ("positive_ms", "negative_ms"):
            xs = [p["hours"] for p in points]
            ys = [p[mode][key] for p in points]
            if xs:
                ax.plot(xs, ys, style, label=f"{mode} {key.split('_')[0]}")
    for label, row in scale.get("extrapolated", {}).items():
        if "all_speeds" in row:
            ax.plot([row["hours"]], [row["all_speeds"]["negative_ms"]], "x", color="grey")
            ax.annotate(
                f"{label} (extrapolated)", (row["hours"], row["all_speeds"]["negative_ms"]), fontsize=7
            )
    ax.axhline(100, color="red", linewidth=0.8, label="100 ms target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hours of audio in the index")
    ax.set_ylabel("10 s query match time, ms")
    ax.set_title("scale simulation (synthetic landmarks)", fontsize=10)
    ax.legend(fontsize=7)
