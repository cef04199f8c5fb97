"""The data one conversation turn takes in and gives back."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One inbound message (or keypress/speech on voice) and what the service knows around it."""

    text: str = ""
    channel: str = "sms"  # "sms" | "voice"
    # Optional keys: "request" ({"ref", "status"} or None), "idle" (bool), "opted_out" (bool).
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A text key and its named params: the service renders it in the person's language."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    """Something the service must do (alert, open a dispatch, opt out...) in its transaction."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """The outcome of a turn: where the conversation is now, what to say, what to do."""

    state: str
    data: dict
    language: str
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
