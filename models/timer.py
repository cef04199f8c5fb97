"""Deadlines (offer expiry, escalation, retention purge): rows, so nothing due later lives in memory."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Timer(SQLModel, table=True):
    """Something to do at `due_at`; the worker fires it once, in the same commit as its effects."""

    __tablename__ = "timer"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # a handler name registered with the worker
    dispatch_id: int | None = Field(default=None, foreign_key="dispatch.id", index=True)
    payload: str = Field(default="{}")  # JSON of ids and enums only, never personal data
    due_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    status: str = Field(default="pending", max_length=12, index=True)
    # pending | done | cancelled | failed (its handler kept raising)
    attempts: int = Field(default=0)  # handler runs that raised and were rolled back
    locked_until: NaiveDatetime | None = Field(default=None)  # not before: back-off after an error
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    fired_at: NaiveDatetime | None = Field(default=None)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
