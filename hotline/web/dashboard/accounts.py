"""Dashboard accounts: argon2 password hashes, the password rules, sign-in, roles, changes.

Sign-in never locks an account: the limits per address and username (signin_limits.py) slow a
guesser down before any hash is computed, and the real person can always sign in from elsewhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from models import DashboardUser
from models.clock import utcnow
from models.user import ROLES

MIN_PASSWORD_LENGTH = 12
#: Longer than any passphrase; a megabyte "password" would only feed the hash.
MAX_PASSWORD_LENGTH = 256
#: zxcvbn's score out of 4: 3 is "safely unguessable" (well beyond an online guesser's reach).
MIN_PASSWORD_SCORE = 3
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


def check_role(role: str) -> str:
    """Return a known role, or raise AccountError."""
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    return role


def check_password(password: str, username: str = "") -> str:
    """Return a password that is long and uncommon enough, or raise AccountError saying why."""
    from zxcvbn import zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    folded = password.lower()
    if re.fullmatch(r"(.{1,4})\1+", folded, re.DOTALL):
        raise AccountError("A password must not be one character or a short pattern repeated.")
    name = username.strip().lower()
    if len(name) >= 3 and name in folded:
        raise AccountError("A password must not contain the username.")
    if folded in FREQUENCY_LISTS["passwords"] or folded.strip("0123456789!.") in FREQUENCY_LISTS["passwords"]:
        raise AccountError("That is one of the most common passwords: choose another.")
    verdict = zxcvbn(password[:100], user_inputs=[name] if name else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        hint = verdict["feedback"]["warning"] or "It is too easy to guess."
        raise AccountError(f"Choose a harder password. {hint} A few unrelated words make a good one.")
    return password


def add_user(session: Session, *, username: str, role: str, password: str) -> DashboardUser:
    """Create a dashboard account (the caller commits)."""
    name = check_username(username)
    check_role(role)
    check_password(password, name)
    if find_user(session, name) is not None:
        raise AccountError(f"There is already a user called {name}.")
    user = DashboardUser(username=name, role=role, password_hash=hasher().hash(password))
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str, *, lock: bool = False) -> DashboardUser | None:
    """Return the account with a username (in any case), or None."""
    query = select(DashboardUser).where(DashboardUser.username == username.strip().lower()[:64])
    return session.exec(query.with_for_update() if lock else query).first()


def change_password(user: DashboardUser, current: str, new: str) -> None:
    """Change one's own password; the current one is needed. Every other session of it ends."""
    if not _verify(user.password_hash, current):
        raise AccountError("The current password is wrong.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    set_password(user, new)


def set_password(user: DashboardUser, new: str) -> None:
    """Give an account a new password (an admin's reset): its sessions end, its failures are forgotten."""
    check_password(new, user.username)
    user.password_hash = hasher().hash(new)
    user.failed_logins = 0
    user.session_epoch += 1


def set_role(user: DashboardUser, role: str) -> None:
    """Change what an account may do."""
    user.role = check_role(role)


def all_users(session: Session) -> list[DashboardUser]:
    """Return every account, by name."""
    return list(session.exec(select(DashboardUser).order_by(col(DashboardUser.username))).all())


@dataclass(frozen=True)
class SignIn:
    """What became of a sign-in attempt."""

    user: DashboardUser | None
    outcome: str  # ok | wrong | inactive

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Checked:
    """A password verified outside the write transaction: against which hash, and the answer."""

    password_hash: str | None
    matched: bool


def verify_first(session: Session, username: str, password: str) -> Checked:
    """Verify a password holding no write lock; pass what it found to authenticate."""
    # argon2 takes a moment on purpose: inside a write transaction on SQLite, every webhook's
    # write would wait for it, whatever process answers the webhook.
    name = username.strip().lower()[:64]
    user = find_user(session, name) if USERNAME.match(name) else None
    if user is None:
        _verify(_decoy_hash(), password)
        return Checked(None, False)
    return Checked(user.password_hash, _verify(user.password_hash, password))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    checked: Checked | None = None,
) -> SignIn:
    """Check a password; count failures in a row (shown to admins, never a lockout).

    The caller commits, whatever the outcome: the count is the point. Given what verify_first
    found for the same hash, the password is not verified again here.
    """
    now = now or utcnow()
    name = username.strip().lower()[:64]
    # A name that cannot exist is never looked up (PostgreSQL refuses a NUL in a query).
    user = find_user(session, name, lock=True) if USERNAME.match(name) else None
    if user is None:
        if checked is None:
            _verify(_decoy_hash(), password)
        return SignIn(None, "wrong")
    if checked is not None and checked.password_hash == user.password_hash:
        matched = checked.matched
    else:  # not checked before, or the password changed since
        matched = _verify(user.password_hash, password)
    if not matched:
        user.failed_logins += 1
        session.add(user)
        return SignIn(user, "wrong")
    if not user.active:
        return SignIn(user, "inactive")
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    user.failed_logins = 0
    user.last_login_at = now
    session.add(user)
    return SignIn(user, "ok")


def deactivate(user: DashboardUser) -> None:
    """Stop an account from signing in and end its sessions."""
    user.active = False
    user.session_epoch += 1


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
