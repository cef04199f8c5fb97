"""Dashboard accounts: who may sign in to the sergeant's board, with which role."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow

ROLES = ("sergeant", "admin")


class DashboardUser(SQLModel, table=True):
    """A staff login. Only an argon2 hash of the password is stored."""

    __tablename__ = "dashboard_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)  # sergeant | admin
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    failed_logins: int = Field(default=0)  # in a row; reset by a good login
    locked_until: NaiveDatetime | None = Field(default=None)
    session_epoch: int = Field(default=0)  # bumped to end every session of this account
    last_login_at: NaiveDatetime | None = Field(default=None)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
