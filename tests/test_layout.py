"""The arrows between the packages run one way (STYLE.md, "The shape of the house").

Every module is parsed, and every import in it counts, function-local ones included: the plane
imports neither ``workers`` nor ``rtmp`` (the live media node holds the ingest); ``pipelines``
and ``fingerprint`` import neither the plane nor ``workers``; ``pipelines`` does not import
``rtmp``; ``rtmp`` imports neither the plane nor ``workers``; ``storage`` imports none of the
others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: (package, a package it must never import).
FORBIDDEN = [
    ("control_plane", "workers"),
    ("control_plane", "rtmp"),
    ("pipelines", "control_plane"),
    ("pipelines", "workers"),
    ("pipelines", "rtmp"),
    ("fingerprint", "control_plane"),
    ("fingerprint", "workers"),
    ("rtmp", "control_plane"),
    ("rtmp", "workers"),
    *(("storage", other) for other in ("control_plane", "workers", "pipelines", "rtmp")),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, wherever it stands."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module


def violations(package: str, target: str, root: Path = ROOT) -> list[str]:
    """Where modules of ``package`` (a folder under ``root``) import ``target`` or its modules."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for line, name in imported(path, root):
            if name == target or name.startswith(target + "."):
                found.append(f"{path.relative_to(root)}:{line} imports {name}")
    return found


@pytest.mark.parametrize(("package", "target"), FORBIDDEN, ids=lambda name: str(name))
def test_package_never_imports(package: str, target: str) -> None:
    assert violations(package, target) == []


def test_function_local_and_relative_imports_are_seen(tmp_path: Path) -> None:
    module = tmp_path / "storage" / "stores" / "late.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from ..base import CHUNK\n\n\ndef later():\n    from workers.cli import main\n    import rtmp.amf0\n"
    )
    assert violations("storage", "workers", tmp_path) == ["storage/stores/late.py:5 imports workers.cli"]
    assert violations("storage", "rtmp", tmp_path) == ["storage/stores/late.py:6 imports rtmp.amf0"]
    assert next(imported(module, tmp_path)) == (1, "storage.base")
