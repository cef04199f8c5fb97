"""Dashboard accounts: argon2 password hashes, sign-in with a lockout after repeated failures."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from models import DashboardUser
from models.clock import utcnow
from models.user import ROLES

#: Failed sign-ins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(ValueError):
    """An account change that cannot be made; the message says why."""


@functools.cache
def hasher() -> PasswordHasher:
    """Return argon2id with the library's current (RFC 9106) parameters."""
    return PasswordHasher()


@functools.cache
def _decoy_hash() -> str:
    # Verified against for unknown usernames, so they take as long as known ones.
    return hasher().hash("decoy password for unknown usernames")


def check_username(username: str) -> str:
    """Return a username in its stored form, or raise AccountError."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError("A username is 2-64 letters, digits, dots, dashes or underscores.")
    return name


def check_password(password: str) -> str:
    """Return a password that is long enough, or raise AccountError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return password


def add_user(session: Session, *, username: str, role: str, password: str) -> DashboardUser:
    """Create a dashboard account (the caller commits)."""
    name = check_username(username)
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    check_password(password)
    if session.exec(select(DashboardUser).where(DashboardUser.username == name)).first():
        raise AccountError(f"There is already a user called {name}.")
    user = DashboardUser(username=name, role=role, password_hash=hasher().hash(password))
    session.add(user)
    session.flush()
    return user


def all_users(session: Session) -> list[DashboardUser]:
    """Return every account, by name."""
    return list(session.exec(select(DashboardUser).order_by(col(DashboardUser.username))).all())


@dataclass(frozen=True)
class SignIn:
    """What became of a sign-in attempt."""

    user: DashboardUser | None
    outcome: str  # ok | wrong | locked | inactive

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Checked:
    """A password verified outside the write transaction: against which hash, and the answer."""

    password_hash: str | None
    matched: bool


def is_locked(user: DashboardUser, now: datetime) -> bool:
    """Tell whether an account is locked out right now."""
    return user.locked_until is not None and user.locked_until > now


def verify_first(session: Session, username: str, password: str, *, now: datetime | None = None) -> Checked:
    """Verify a password holding no write lock; pass what it found to authenticate."""
    # argon2 takes a moment on purpose: inside a write transaction on SQLite, every webhook's
    # write would wait for it, whatever process answers the webhook.
    now = now or utcnow()
    name = username.strip().lower()[:64]
    user = session.exec(select(DashboardUser).where(DashboardUser.username == name)).first()
    if user is None:
        _verify(_decoy_hash(), password)
        return Checked(None, False)
    if is_locked(user, now):
        return Checked(user.password_hash, False)
    return Checked(user.password_hash, _verify(user.password_hash, password))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    checked: Checked | None = None,
) -> SignIn:
    """Check a password; count failures and lock the account after MAX_FAILED_LOGINS in a row.

    The account row is locked for the check, so attempts in parallel (several workers) are all
    counted. The caller commits, whatever the outcome: the count is the point. Given what
    verify_first found for the same hash, the password is not verified again here.
    """
    now = now or utcnow()
    name = username.strip().lower()[:64]
    user = session.exec(select(DashboardUser).where(DashboardUser.username == name).with_for_update()).first()
    if user is None:
        if checked is None:
            _verify(_decoy_hash(), password)
        return SignIn(None, "wrong")
    if is_locked(user, now):
        return SignIn(user, "locked")
    if checked is not None and checked.password_hash == user.password_hash:
        matched = checked.matched
    else:  # not checked before, or the password changed since
        matched = _verify(user.password_hash, password)
    if not matched:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            session.add(user)
            return SignIn(user, "locked")
        session.add(user)
        return SignIn(user, "wrong")
    if not user.active:
        return SignIn(user, "inactive")
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    return SignIn(user, "ok")


def unlock(user: DashboardUser) -> None:
    """Lift a lockout (an admin's action)."""
    user.locked_until = None
    user.failed_logins = 0


def deactivate(user: DashboardUser) -> None:
    """Stop an account from signing in and end its sessions."""
    user.active = False
    user.session_epoch += 1


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
