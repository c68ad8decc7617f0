"""Geofencing and age limits on both backends: ``blocked_countries`` per video and the platform's
list, from the caller's country (its address in the MaxMind-format database), on the API, the
playback files, the catalogue, search and the home feed; age-restricted videos hidden from
anonymous viewers and minors (birth date at sign-up), shown to adults through signed playback
URLs."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from support.platform import Platform
from support.social import Member, member, ready_video
from support.viewing import DE, GB, player

from control_plane.videos.models import Video

API = "/api/v1"


def adult_and_minor(platform: Platform) -> tuple[dict[str, str], dict[str, str]]:
    headers = []
    for name, born in (("grownup", "1990-05-01"), ("teenager", f"{date.today().year - 15}-01-01")):
        r = platform.client.post(
            f"{API}/auth/register",
            json={
                "username": name,
                "email": f"{name}@example.com",
                "password": "correct horse battery",
                "birth_date": born,
            },
        )
        assert r.status_code == 201, r.text
        token = platform.client.post(
            f"{API}/auth/login", json={"username": name, "password": "correct horse battery"}
        ).json()["access_token"]
        headers.append({"Authorization": f"Bearer {token}"})
    return headers[0], headers[1]


def test_age_restricted_videos_reach_only_adults(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    ada = member(platform, "ada")
    adult, minor = adult_and_minor(platform)
    assert platform.client.get(f"{API}/users/me", headers=adult).json()["birth_date"] == "1990-05-01"
    video = ready_video(platform, ada, title="Grown-up talk")
    open_video = ready_video(platform, ada, title="For everyone")
    with platform.services.db.session() as session:
        session.get(Video, video).outputs = {"hls": "hls/master.m3u8"}  # type: ignore[union-attr]
    r = platform.client.patch(f"{API}/videos/{video}", json={"age_restricted": True}, headers=ada.headers)
    assert r.status_code == 200
    for headers in ({}, minor, member(platform, "nobirthday").headers):
        r = platform.client.get(f"{API}/videos/{video}", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "AGE_RESTRICTED"
        listed = platform.client.get(f"{API}/videos", headers=headers).json()["items"]
        assert [v["id"] for v in listed] == [open_video]
    seen = platform.client.get(f"{API}/videos/{video}", headers=adult).json()
    assert "/t/" in seen["playback"]["hls"]  # signed: the public media URL refuses it
    assert {v["id"] for v in platform.client.get(f"{API}/videos", headers=adult).json()["items"]} == {
        video,
        open_video,
    }
    r = platform.client.get(f"/media/videos/{video}/hls/master.m3u8")
    assert r.status_code == 403 and r.json()["code"] == "AGE_RESTRICTED"
    assert (
        platform.client.get(seen["playback"]["hls"].split("8000", 1)[-1]).status_code == 404
    )  # no file, but let in
    assert platform.client.get(f"{API}/videos/{video}", headers=ada.headers).status_code == 200  # the owner


def test_a_birth_date_must_be_plausible(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    for born in (f"{date.today().year + 1}-01-01", "1800-01-01"):
        r = platform.client.post(
            f"{API}/auth/register",
            json={
                "username": "timetraveller",
                "email": "t@example.com",
                "password": "correct horse battery",
                "birth_date": born,
            },
        )
        assert r.status_code == 422 and r.json()["code"] == "INVALID_BIRTH_DATE"


def test_geofenced_videos_are_hidden_in_their_countries(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    ada = member(platform, "ada")
    fenced, free = ready_video(platform, ada), ready_video(platform, ada)
    r = platform.client.patch(
        f"{API}/videos/{fenced}", json={"blocked_countries": ["gb", "FR", "gb"]}, headers=ada.headers
    )
    assert r.status_code == 200 and r.json()["blocked_countries"] == ["FR", "GB"]
    bad = platform.client.patch(
        f"{API}/videos/{fenced}", json={"blocked_countries": ["G1"]}, headers=ada.headers
    )
    assert bad.status_code == 422
    gb, de = player(platform, GB), player(platform, DE)
    r = gb.get(f"{API}/videos/{fenced}")
    assert r.status_code == 451 and r.json()["code"] == "GEO_BLOCKED"
    assert de.get(f"{API}/videos/{fenced}").json()["blocked_countries"] == []  # only its owner sees the list
    assert [v["id"] for v in gb.get(f"{API}/videos").json()["items"]] == [free]
    assert {v["id"] for v in de.get(f"{API}/videos").json()["items"]} == {fenced, free}
    r = gb.get(f"/media/videos/{fenced}/hls/master.m3u8")
    assert r.status_code == 451
    assert de.get(f"/media/videos/{fenced}/hls/master.m3u8").status_code == 404  # let in; no such file
    assert gb.get(f"{API}/videos/{fenced}", headers=ada.headers).status_code == 200  # its owner, anywhere


def test_the_platform_wide_list(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on(geo_blocked_countries=["de"])
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    assert player(platform, DE).get(f"{API}/videos/{video}").status_code == 451
    assert player(platform, DE).get(f"{API}/videos").json()["items"] == []
    assert player(platform, GB).get(f"{API}/videos/{video}").status_code == 200


def published(
    platform: Platform, owner_headers: dict[str, str], owner_id: str, title: str, **changes: object
) -> str:
    """A ready video of ``owner_id`` made public through the video service (followers' feeds get
    it), with ``changes`` (``blocked_countries``, ``age_restricted``) made first."""
    video = ready_video(platform, Member("", owner_id, owner_headers), title=title, visibility="private")
    if changes:
        r = platform.client.patch(f"{API}/videos/{video}", json=changes, headers=owner_headers)
        assert r.status_code == 200, r.text
    platform.services.videos.update(owner_id, video, {"visibility": "public"})
    return video


def found(client: TestClient, path: str, headers: dict[str, str] | None = None) -> set[str]:
    r = client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def test_search_and_the_feed_keep_fenced_and_age_restricted_videos_out(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    ada = member(platform, "ada")
    adult, minor = adult_and_minor(platform)
    fenced = published(platform, ada.headers, ada.id, "Lighthouse tour one", blocked_countries=["GB"])
    grown = published(platform, ada.headers, ada.id, "Lighthouse tour two", age_restricted=True)
    open_video = published(platform, ada.headers, ada.id, "Lighthouse tour three")
    platform.services.search.refresh()
    gb, de = player(platform, GB), player(platform, DE)
    search = f"{API}/search?q=lighthouse&type=videos"
    assert found(gb, search, adult) == {grown, open_video}
    assert found(de, search, adult) == {fenced, grown, open_video}
    assert found(de, search, minor) == found(de, search) == {fenced, open_video}
    assert found(gb, search, ada.headers) == {fenced, grown, open_video}  # its owner, anywhere

    for headers in (adult, minor):
        assert platform.client.put(f"{API}/users/ada/follow", headers=headers).status_code == 204
    later = published(platform, ada.headers, ada.id, "Late night fenced", blocked_countries=["DE"])
    for algorithm in ("following", "ranked"):
        feed = f"{API}/feed?algorithm={algorithm}"
        videos = {
            item["video"]["id"]
            for item in gb.get(feed, headers=adult).json()["items"]
            if item["kind"] == "video"
        }
        assert videos == {grown, open_video, later}, algorithm
        seen_in_de = {
            item["video"]["id"]
            for item in de.get(feed, headers=adult).json()["items"]
            if item["kind"] == "video"
        }
        assert seen_in_de == {fenced, grown, open_video}, algorithm
        for_minor = {
            item["video"]["id"]
            for item in gb.get(feed, headers=minor).json()["items"]
            if item["kind"] == "video"
        }
        assert for_minor == {open_video, later}, algorithm
