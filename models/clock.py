"""Time helpers shared by the tables: every stored time is UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time in UTC, without microsecond noise in comparisons."""
    return datetime.now(UTC).replace(tzinfo=None)
