"""The social domain's routes, and what they share: path parameters, text fields and the viewer.

Path parameters are checked before any query runs (a post id is 32 hex digits; a username or tag
holds no control characters), and text fields refuse NUL, which PostgreSQL cannot store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

from control_plane.http.deps import Principal
from control_plane.social.audience import Viewer

__all__ = ["Id", "Tag", "Text", "Username", "viewer_of"]

Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Tag = Annotated[str, Path(min_length=1, max_length=101, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


#: A text field: any Unicode, HTML included (it is stored and returned as text, never rendered).
Text = Annotated[str, AfterValidator(_no_nul)]


def viewer_of(principal: Principal | None) -> Viewer:
    """The viewer of a request: anonymous, or a user who may moderate."""
    if principal is None:
        return Viewer(None)
    return Viewer(principal.user.id, moderator=principal.has_role("moderator"))
