"""Participant texts: catalogs per language and SMS segment counting."""

from .catalog import PLACEHOLDERS, Catalog, placeholders
from .encoding import is_gsm, segments

__all__ = ["PLACEHOLDERS", "Catalog", "is_gsm", "placeholders", "segments"]
