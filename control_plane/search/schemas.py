"""The wire form of a search result."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from control_plane.social.schemas import UserBrief

__all__ = ["SearchHit", "SearchType"]

SearchType = Literal["videos", "channels", "posts", "hashtags"]


class SearchHit(BaseModel):
    """One result. ``id`` is the video's, account's or post's id, or the hashtag's key;
    ``title`` the video's title, the username, or the tag as first written."""

    type: Literal["video", "channel", "post", "hashtag"]
    id: str
    title: str
    text: str | None = Field(default=None, description="a post's text")
    author: UserBrief | None = Field(default=None, description="the video's channel or the post's author")
    created_at: datetime | None = None
    posts: int | None = Field(default=None, description="posts carrying the hashtag")
