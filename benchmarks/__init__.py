"""The benchmark suite: one module per published figure, run by ``socialflow bench NAME``.

Each benchmark module exposes ``main(argv: list[str], output: Path) -> int`` and writes a JSON file
and a PNG plot into ``output``. A benchmark compares, in one run, against the real alternative it
names; it never asserts a speed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["BENCHMARKS", "available", "run_benchmark"]

#: name -> module. Only modules that exist are offered.
BENCHMARKS: dict[str, str] = {
    "upload": "benchmarks.upload",
    "transcode": "benchmarks.transcode",
    "contentid": "benchmarks.contentid",
    "live": "benchmarks.live",
    "social": "benchmarks.social",
    "ledger": "benchmarks.ledger",
    "views": "benchmarks.views",
    "ads": "benchmarks.ads",
    "notify": "benchmarks.notify",
    "feed": "benchmarks.feed",
}


def available() -> list[str]:
    return [name for name, module in BENCHMARKS.items() if importlib.util.find_spec(module) is not None]


def run_benchmark(name: str, output: str, argv: list[str]) -> int:
    names = available()
    if name not in names:
        print(
            f"socialflow: error: no benchmark named {name!r}; available: {', '.join(names) or 'none yet'}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(BENCHMARKS[name])
    out = Path(output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    return int(module.main(list(argv), out))
