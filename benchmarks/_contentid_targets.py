"""The Content-ID targets, judged on a finished benchmark result (reported, never asserted).

Each target is ``{"name", "target", "value", "pass"}``; ``pass`` is None when the run did not
measure it (a peer skipped, a scale point not simulated), and ``note`` says how it was judged.
"""

from __future__ import annotations

from typing import Any


def _top1(system: dict[str, Any], degradation: str, length: str) -> float | None:
    row = system.get("accuracy", {}).get(degradation, {}).get(length)
    return None if row is None else float(row["top1"])


def _judge(name: str, target: str, value: Any, ok: bool | None, note: str = "") -> dict[str, Any]:
    out = {"name": name, "target": target, "value": value, "pass": ok}
    if note:
        out["note"] = note
    return out


def _video_false_positives(video: dict[str, Any]) -> dict[str, Any]:
    negative = video.get("ours", {}).get("per_edit", {}).get("negative")
    if negative is None:
        return _judge("video false positives on negatives", "0", None, None, "video part not run")
    fps, of = negative["false_positive"], negative["queries"]
    return _judge("video false positives on negatives", "0", fps, fps == 0, f"of {of} excerpts")


def _vs_audfprint(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    if "accuracy" not in peer:
        return _judge(
            "better than audfprint", "ours >= audfprint on every case", None, None, "audfprint not run"
        )
    worse, better, ties = [], 0, 0
    for degradation, by_length in ours["accuracy"].items():
        for length, row in by_length.items():
            theirs = _top1(peer, degradation, length)
            if theirs is None:
                continue
            if row["top1"] < theirs:
                worse.append(f"{degradation}/{length}")
            elif row["top1"] > theirs:
                better += 1
            else:
                ties += 1
    value = {"better": better, "tied": ties, "worse": worse}
    return _judge(
        "better than audfprint",
        "ours >= audfprint on every case",
        value,
        not worse,
        "ties count as not worse (both at 100% cannot be beaten)",
    )


def _latency_1000h(scale: dict[str, Any]) -> dict[str, Any]:
    point = next((p for p in scale.get("points", []) if p["hours"] == 1000.0), None)
    note = "measured"
    if point is None:
        point = scale.get("extrapolated", {}).get("1000h")
        note = "extrapolated from smaller indexes (not measured)"
    if point is None or "all_speeds" not in point:
        return _judge("10 s query vs 1,000 h", "< 100 ms", None, None, "not measured")
    keys = ("positive_ms", "negative_ms", "positive_cpu_ms", "negative_cpu_ms")
    value = {
        mode: {k: round(point[mode][k], 1) for k in keys if k in point[mode]}
        for mode in ("all_speeds", "speed_1_only")
    }
    # Wall time: the matcher runs its passes on a thread per core, so the latency a caller sees is
    # the wall time, and CPU time (the sum over threads) is the cost. Each point records the load
    # average it ran at, to tell whether other work stretched the wall time.
    worst = max(point["all_speeds"]["positive_ms"], point["all_speeds"]["negative_ms"])
    if "load_average" in point:
        note += f" at load average {point['load_average']:.2f}"
    return _judge(
        "10 s query vs 1,000 h",
        "< 100 ms (all 17 speeds, match or no match)",
        value,
        worst < 100.0,
        f"{note}; judged on wall time (the matcher's passes run on a thread per core; *_cpu_ms is their sum)",
    )


def _accuracy_1000h(scale: dict[str, Any], length: str, target: float) -> dict[str, Any]:
    """Top-1 at 10 dB SNR when the same queries are asked of the 1,000 h index (the issue sets
    its accuracy targets without an index size; this says whether they hold at that size)."""
    name = f"top-1, {length.removesuffix('s')} s at 10 dB SNR, against 1,000 h"
    point = next((p for p in scale.get("points", []) if p["hours"] == 1000.0), None)
    if point is None or "accuracy" not in point:
        return _judge(name, f">= {target}", None, None, "not measured")
    value = _top1(point["accuracy"], "noise10", length)
    fps = sum(row["false_positives"] for row in point["accuracy"]["negatives"].values())
    return _judge(
        name,
        f">= {target}",
        value,
        None if value is None else value >= target and fps == 0,
        f"{fps} false positives on the negative excerpts at that size",
    )


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Judge every target on ``result`` (the benchmark's JSON before ``targets`` is added)."""
    ours = result["audio"]["ours"]
    out = []
    value = _top1(ours, "noise10", "10s")
    out.append(_judge("top-1, 10 s at 10 dB SNR", ">= 0.98", value, None if value is None else value >= 0.98))
    value = _top1(ours, "noise10", "5s")
    out.append(_judge("top-1, 5 s at 10 dB SNR", ">= 0.95", value, None if value is None else value >= 0.95))
    clean5 = _top1(ours, "clean", "5s")
    out.append(_judge("top-1, 5 s clean", ">= 0.95", clean5, None if clean5 is None else clean5 >= 0.95))
    fps = sum(row["false_positives"] for row in ours["negatives"].values())
    whole = result.get("whole_file", {}).get("ours", {}).get("negatives", {})
    fps += sum(row["false_positives"] for row in whole.values())
    out.append(_judge("false positives on negatives", "0", fps, fps == 0))
    out.append(_video_false_positives(result.get("video", {})))
    out.append(_vs_audfprint(ours, result["audio"].get("audfprint", {})))
    speed = ours["ingest"]["realtime_per_core"]
    out.append(
        _judge(
            "ingest speed (decode + fingerprint)",
            "> 200x realtime per core",
            round(speed, 1),
            speed > 200,
            f"{ours['ingest']['realtime_per_core_without_decode']:.0f}x without decoding",
        )
    )
    out.append(_latency_1000h(result.get("scale", {})))
    out.append(_accuracy_1000h(result.get("scale", {}), "10s", 0.98))
    out.append(_accuracy_1000h(result.get("scale", {}), "5s", 0.95))
    return out
