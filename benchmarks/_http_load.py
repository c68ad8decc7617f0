"""A lean HTTP/1.1 load generator for the ingestion benchmarks: raw asyncio streams (uvloop when
installed), keep-alive connections each with one request in flight, requests pre-rendered as bytes.

An ``httpx.AsyncClient`` spends several hundred microseconds of client CPU a request; on a small
machine where the client shares the cores with the server, that measured the client. This one
spends a few tens, so the figure is the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["LoadResult", "drive", "post_json"]

#: A request maker: given the connection's number and its turn, the request's bytes.
Maker = Callable[[int, int], bytes]


class LoadResult:
    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.statuses: dict[int, int] = {}


def post_json(host: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """An HTTP/1.1 keep-alive POST of ``body`` (JSON) as bytes."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(host: str, port: int, n: int, make: Maker, deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    turn = 0
    try:
        while time.monotonic() < deadline:
            writer.write(make(n, turn))
            turn += 1
            status = await _read_response(reader)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.ok += 1
            else:
                result.failed += 1
    finally:
        writer.close()


async def _drive(host: str, port: int, connections: int, make: Maker, seconds: float) -> LoadResult:
    result = LoadResult()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_connection(host, port, n, make, deadline, result) for n in range(connections)))
    return result


def drive(host: str, port: int, connections: int, make: Maker, seconds: float) -> LoadResult:
    """Send requests made by ``make`` over ``connections`` connections for ``seconds``."""
    try:
        import uvloop

        runner: Callable[..., LoadResult] = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_drive(host, port, connections, make, seconds))
