"""Helpers of the payments tests: Stripe-shaped events signed with the stripe library's scheme,
and a localstripe server (``localstripe`` from PyPI) started on a free loopback port.

``localstripe`` covers customers, products, plans, subscriptions, invoices, payment intents,
refunds and signed webhooks; it has no Checkout, prices or Connect, so those paths are tested with
recorded events signed here, as Stripe signs them.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from control_plane.payments.providers import sign
from support.services import service_missing

__all__ = ["deliver", "event", "localstripe"]


def event(
    type_: str, obj: dict[str, Any], *, created: int | None = None, account: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": type_,
        "created": created if created is not None else int(time.time()),
        "data": {"object": obj},
    }
    if account:
        body["account"] = account
    return body


def deliver(client: Any, body: dict[str, Any], secret: str, *, timestamp: int | None = None) -> Any:
    """POST the event to the webhook route, signed with ``secret`` at ``timestamp``."""
    payload = json.dumps(body).encode()
    return client.post(
        "/api/v1/payments/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret, timestamp), "Content-Type": "application/json"},
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a localstripe server for this session."""
    exe = shutil.which("localstripe") or shutil.which(
        "localstripe", path=str(__import__("pathlib").Path(sys.executable).parent)
    )
    if exe is None:
        service_missing("localstripe")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/v1/customers", timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (401 without a key): it is up
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                service_missing("localstripe")
            time.sleep(0.1)
            continue
        break
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
