"""Participant texts: catalogs per language and SMS segment counting."""

from .catalog import (
    DISCREET_CHARS,
    LONGEST_PARAMS,
    PLACEHOLDERS,
    UNSOLICITED,
    Catalog,
    is_unsolicited,
    placeholders,
)
from .encoding import is_gsm, segments

__all__ = [
    "DISCREET_CHARS",
    "LONGEST_PARAMS",
    "PLACEHOLDERS",
    "UNSOLICITED",
    "Catalog",
    "is_gsm",
    "is_unsolicited",
    "placeholders",
    "segments",
]
