"""The audit log: every staff action on the dashboard, and who did it when."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class AuditEntry(SQLModel, table=True):
    """One staff action. `target` and `detail` hold ids and enums, never personal data."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=80)  # "user:<username>", "cli", "anonymous"
    action: str = Field(max_length=40, index=True)  # login, assign, close, roster.add ...
    target: str | None = Field(default=None, max_length=80)  # "dispatch:R7K2", "officer:3" ...
    detail: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=64)  # the client's IP, for logins
