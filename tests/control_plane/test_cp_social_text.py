"""Hashtags and mentions parsed from a post's text, with the inputs that trip simple parsers."""

from __future__ import annotations

import pytest

from control_plane.social.text import normalize_tag, parse


def tags(text: str) -> list[str]:
    return [t.key for t in parse(text).hashtags]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#café #日本語 #한국어 #हिन्दी #Straße", ["café", "日本語", "한국어", "हिन्दी", "strasse"]),
        ("#cafe\u0301 and #CAFÉ are one tag", ["café"]),  # NFC/NFKC and case folding
        ("#ｆｕｌｌｗｉｄｔｈ", ["fullwidth"]),
        ("#تست‌نویسی in Persian keeps its joiner", ["تست\u200cنویسی"]),
        ("Read https://example.com/page#section and www.example.org/#/route", []),
        ("http://x.test/?a=1&b=#c ftp://files.test/#dir", []),
        ("a#b x/#y &#35; (#ok) [#fine]", ["ok", "fine"]),
        ("#123 #1st #_ #_a", ["1st", "_a"]),  # a tag needs a letter
        ("##double #end.", ["end"]),
        ("<b>#bold</b> <script>#x</script>", ["bold", "x"]),
        ("#tag #Tag #TAG", ["tag"]),
        ("#" + "a" * 101 + " #" + "b" * 100, ["b" * 100]),
    ],
)
def test_hashtags(text: str, expected: list[str]) -> None:
    assert tags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@ada, @bob. (@cyd) @dan!", ["ada", "bob", "cyd", "dan"]),
        ("write to ada@example.com or a.b+c@mail.example.org", []),
        ("@ada@remote.social and @bob@elsewhere are other servers' accounts", []),
        ("https://example.com/@ada is a link", []),
        ("@ab is too short, @abc- is abc", ["abc"]),
        ("@adaé is not @ada", ["ada"]),
        ("@first.last and @with_under_", ["first.last", "with_under_"]),
        ("@ada @ada", ["ada"]),
        ("email@ada", []),
    ],
)
def test_mentions(text: str, expected: list[str]) -> None:
    assert list(parse(text).mentions) == expected


def test_the_first_spelling_is_kept_for_display() -> None:
    parsed = parse("#Café then #CAFÉ")
    assert [(t.key, t.name) for t in parsed.hashtags] == [("café", "Café")]
    assert normalize_tag("ＣＡＦÉ") == "café"
