"""The social domain's errors beyond the plane's tree (``control_plane.core.errors``)."""

from __future__ import annotations

from control_plane.core.errors import Forbidden, NotFound, ProblemError

__all__ = ["Blocked", "InvalidContent", "NoSuchUser"]


class InvalidContent(ProblemError):
    """Well-formed JSON whose content breaks a rule: too many tags, an empty post, a self-follow."""

    status, code, title = 422, "INVALID_CONTENT", "Invalid content"


class Blocked(Forbidden):
    code = "BLOCKED"
    default_detail = "One of you has blocked the other."


class NoSuchUser(NotFound):
    code = "USER_NOT_FOUND"
    default_detail = "No such user."
