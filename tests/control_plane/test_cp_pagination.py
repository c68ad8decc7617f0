"""Cursor pagination: cursors are opaque and checked, and a list paged while items are added and
removed serves each item that stays exactly once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from support.platform import Platform

from control_plane.http.pagination import InvalidCursor, decode_cursor, encode_cursor


def test_a_cursor_carries_its_ordering_and_typed_values() -> None:
    when = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = encode_cursor("latest", [when, "abc", 7])
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor, "latest", 3) == [when, "abc", 7]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"o": "popular", "k": [1, "x"]}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"o": "latest", "k": [1]}).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"o": "latest", "k": [{"t": "yesterday"}, "x"]}).encode()
        ).decode(),
        base64.urlsafe_b64encode(json.dumps({"o": "latest", "k": [[1], "x"]}).encode()).decode(),
        base64.urlsafe_b64encode(b"[" * 100_000).decode()[:500],
    ],
)
def test_a_cursor_of_another_list_or_a_forged_one_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(cursor, "latest", 2)
    assert caught.value.status == 422 and caught.value.code == "INVALID_CURSOR"


def new_upload(platform: Platform, headers: dict[str, str]) -> str:
    """A video in ``uploading`` made through tus (its bytes never sent)."""
    r = platform.client.post(
        "/api/v1/uploads/", headers={**headers, "Tus-Resumable": "1.0.0", "Upload-Length": "1000"}
    )
    assert r.status_code == 201, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def page(platform: Platform, headers: dict[str, str], cursor: str | None, limit: int) -> dict:
    params: dict[str, str | int] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    r = platform.client.get("/api/v1/users/me/videos", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_paging_while_items_are_added_and_removed_skips_and_repeats_nothing(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on(upload_max_concurrent=100)
    alice = platform.user("alice")
    existing = [new_upload(platform, alice) for _ in range(23)]  # newest last
    served: list[str] = []
    removed: set[str] = set()
    removed_unseen: set[str] = set()
    added: set[str] = set()
    cursor = None
    rounds = 0
    while True:
        body = page(platform, alice, cursor, 5)
        served += [item["id"] for item in body["items"]]
        assert all(item["status"] == "uploading" for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        rounds += 1
        # Between pages: two new uploads (newer than everything, so before the cursor), one
        # already served and one not yet served deleted.
        added |= {new_upload(platform, alice), new_upload(platform, alice)}
        seen = next(i for i in served if i not in removed)
        unseen = next(i for i in existing if i not in served and i not in removed)
        removed_unseen.add(unseen)
        for video_id in (seen, unseen):
            assert platform.client.delete(f"/api/v1/videos/{video_id}", headers=alice).status_code == 204
            removed.add(video_id)
    assert rounds >= 3
    assert len(served) == len(set(served)), "an item was served twice"
    kept = [i for i in existing if i not in removed]
    assert [i for i in served if i in kept] == list(reversed(kept)), "an item that stayed was skipped"
    assert not set(served) & removed_unseen, "an item was served after it was removed"
    assert not set(served) & added, "an item added before the cursor was served"


def test_limits_are_bounded_and_bad_cursors_answer_400(platform: Platform) -> None:
    alice = platform.user("alice")
    for limit in ("0", "101", "x"):
        r = platform.client.get("/api/v1/users/me/videos", headers=alice, params={"limit": limit})
        assert r.status_code == 422, limit
    r = platform.client.get("/api/v1/users/me/videos", headers=alice, params={"cursor": "bogus"})
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"
    latest = encode_cursor("latest", [datetime.now(UTC), "0" * 32])
    r = platform.client.get("/api/v1/users/me/videos", headers=alice, params={"cursor": latest})
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"
    r = platform.client.get("/api/v1/users/me/videos", headers=alice, params={"cursor": "c" * 513})
    assert r.status_code == 422
    empty = platform.client.get("/api/v1/users/me/videos", headers=alice).json()
    assert empty == {"items": [], "next_cursor": None}
