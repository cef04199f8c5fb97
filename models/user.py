"""Dashboard accounts: who may sign in to the sergeant's board, with which role."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow

#: A sergeant dispatches; an admin keeps the roster, the accounts and the reports; "both" does both
#: (a small department's duty sergeant who also keeps the roster).
ROLES = ("sergeant", "admin", "both")


def can(role: str, needed: str) -> bool:
    """Tell whether an account's role includes a role a page needs."""
    return role == needed or (role == "both" and needed in ROLES)


class DashboardUser(SQLModel, table=True):
    """A staff login. Only an argon2 hash of the password is stored."""

    __tablename__ = "dashboard_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)  # sergeant | admin | both
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    failed_logins: int = Field(default=0)  # in a row; reset by a good login (shown, never a lockout)
    locked_until: NaiveDatetime | None = Field(default=None)  # no longer set: sign-in never locks
    session_epoch: int = Field(default=0)  # bumped to end every session of this account
    last_login_at: NaiveDatetime | None = Field(default=None)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
