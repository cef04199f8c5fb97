"""De-identified milestones for the program's funnel report (screened, eligible)."""

from pydantic import NaiveDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class FunnelMark(SQLModel, table=True):
    """A conversation reached a milestone, counted once per conversation.

    `conversation_id` is a plain number (no foreign key): it only deduplicates, and the mark,
    a de-identified count, outlives the conversation when that is erased or purged.
    """

    __tablename__ = "funnel_mark"
    __table_args__ = (UniqueConstraint("milestone", "conversation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    milestone: str = Field(max_length=16)  # screened | eligible
    conversation_id: int
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
