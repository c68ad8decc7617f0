"""The Content-ID figure: four panels drawn from the benchmark's JSON result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks._common import grouped_bars  # noqa: E402


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


def plot(result: dict[str, Any], path: Path) -> None:
    """Write ``path`` (PNG): audio top-1 at 5 s and 10 s, whole-file and video, scale latency."""
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    degradations = list(result["audio"]["ours"]["accuracy"])
    for ax, length in zip(axes[0], ("5s", "10s"), strict=True):
        grouped_bars(
            ax,
            degradations,
            _accuracy_series(result, length, degradations),
            ylabel="top-1 %",
            title=f"audio, {length} queries ({result['data']['references']} references)",
        )
        ax.set_ylim(0, 110)
        ax.legend(fontsize=8)
    ax = axes[1][0]
    whole = result.get("whole_file", {})
    whole_deg = list(whole.get("ours", {}).get("accuracy", {}))
    series: dict[str, list[float | None]] = {}
    for name, system in whole.items():
        if "accuracy" in system:
            series[f"{name} (whole file)"] = [
                100 * next(iter(system["accuracy"][d].values()))["top1"] if d in system["accuracy"] else None
                for d in whole_deg
            ]
    video = result.get("video", {}).get("ours", {}).get("per_edit", {})
    edits = [e for e in video if e != "negative"]
    if edits:
        series_v = {"ours (video)": [100 * video[e]["top1"] for e in edits]}
        grouped_bars(
            ax,
            [*whole_deg, *edits],
            {
                **{k: [*v, *([None] * len(edits))] for k, v in series.items()},
                **{k: [*([None] * len(whole_deg)), *v] for k, v in series_v.items()},
            },
            ylabel="top-1 %",
            title="whole-file audio (left) and video edits (right)",
        )
    else:
        grouped_bars(ax, whole_deg, series, ylabel="top-1 %", title="whole-file audio identification")
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_ylim(0, 110)
    ax.legend(fontsize=7)
    ax = axes[1][1]
    scale = result.get("scale", {})
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
