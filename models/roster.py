"""Officers and sergeants who can be paged."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Officer(SQLModel, table=True):
    """A staff member with a registered phone. The number is sealed; its pseudonym finds it."""

    __tablename__ = "officer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    phone_hash: str = Field(max_length=64, unique=True, index=True)
    phone_sealed: str
    is_sergeant: bool = Field(default=False)
    active: bool = Field(default=True)
    on_duty: bool = Field(default=False)
    last_assigned_at: NaiveDatetime | None = Field(default=None)
    failed_codes: int = Field(default=0)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class Shift(SQLModel, table=True):
    """An officer's regular shift in the program's local time ("22:00" to "06:00" may cross midnight).

    At each start the officer goes on duty and at each end off duty; ON and OFF by text hold
    until the next boundary.
    """

    __tablename__ = "shift"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", unique=True, index=True)
    starts: str = Field(max_length=5)  # HH:MM, local
    ends: str = Field(max_length=5)  # HH:MM, local
    created_at: NaiveDatetime = Field(default_factory=utcnow)
