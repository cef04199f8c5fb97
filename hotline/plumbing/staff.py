"""Texts for officers and the sergeant, from hotline/staff.toml."""

from __future__ import annotations

import functools
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TEXTS_PATH = Path(__file__).parent.with_name("staff.toml")
ANSWERS = {"yes": "yes", "no": "no", "not_sure": "not sure", None: "-"}


@functools.cache
def texts() -> dict[str, str]:
    """Return the staff texts, read once."""
    return tomllib.loads(TEXTS_PATH.read_text(encoding="utf-8"))


def render(key: str, **params: object) -> str:
    """Fill a staff text's placeholders."""
    return texts()[key].format(**params)


def local_time(moment: datetime, timezone: str) -> str:
    """Show a stored UTC time as the program's local clock time, e.g. 14:05."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def answer(value: str | None) -> str:
    """Show an enum answer in words."""
    return ANSWERS.get(value, value or "-")


def language(code: str | None) -> str:
    """Name a participant's language for staff ("Spanish"), from its code."""
    return texts().get(f"language_{code}", code or "-")


def kind(value: str | None) -> str:
    """Name a request's kind for staff: "ride" or "call-back" (a call-back is never a ride)."""
    return texts().get(f"kind_{value}", value or "-")
