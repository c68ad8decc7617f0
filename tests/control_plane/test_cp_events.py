"""The events hub: typed delivery, subclasses, order, unsubscribing, and a failing subscriber
that neither reaches the publisher nor stops the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from control_plane.core.events import Event, EventHub


@dataclass(frozen=True)
class Said(Event):
    text: str


@dataclass(frozen=True)
class Shouted(Said):
    pass


@dataclass(frozen=True)
class Left(Event):
    who: str


def test_typed_delivery_in_order_with_subclasses() -> None:
    hub = EventHub()
    said: list[Event] = []
    everything: list[Event] = []
    hub.subscribe(Said, said.append)
    stop = hub.subscribe(Event, everything.append)
    hub.publish(Said("hi"), Left("ada"), Shouted("HI"))
    assert said == [Said("hi"), Shouted("HI")]
    assert everything == [Said("hi"), Left("ada"), Shouted("HI")]
    stop()
    stop()  # twice is harmless
    hub.publish(Said("again"))
    assert everything[-1] == Shouted("HI") and said[-1] == Said("again")


def test_a_failing_subscriber_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    hub = EventHub()
    got: list[Event] = []

    def broken(event: Said) -> None:
        raise RuntimeError("subscriber bug")

    hub.subscribe(Said, broken)
    hub.subscribe(Said, got.append)
    with caplog.at_level(logging.ERROR, logger="control_plane.core.events"):
        hub.publish(Said("hello"))
    assert got == [Said("hello")]
    assert "subscriber bug" in caplog.text and "Said(text='hello')" in caplog.text
