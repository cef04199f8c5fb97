"""The roster: who can be paged, and who is on duty."""

from __future__ import annotations

from sqlmodel import Session, col, select

from hotline.privacy import normalise_phone
from hotline.runtime import Runtime
from models import Officer


class RosterError(ValueError):
    """A roster change that cannot be made; the message says why."""


def staff_number(raw: str) -> str:
    """Return a staff phone number in E.164, or raise RosterError."""
    number = normalise_phone(raw)
    if number is None or not raw.strip().startswith("+"):
        raise RosterError(f"{raw!r} is not a phone number in E.164 form, e.g. +18165550123.")
    return number


def add_officer(session: Session, rt: Runtime, *, name: str, phone: str, sergeant: bool = False) -> Officer:
    """Register an officer or sergeant (not on duty until they text ON)."""
    number = staff_number(phone)
    name = name.strip()
    if not name:
        raise RosterError("A name is needed.")
    phone_hash = rt.pseudonyms.of(number)
    if session.exec(select(Officer).where(Officer.phone_hash == phone_hash)).first():
        raise RosterError("That number is already on the roster.")
    officer = Officer(
        name=name[:80], phone_hash=phone_hash, phone_sealed=rt.vault.seal(number), is_sergeant=sergeant
    )
    session.add(officer)
    session.flush()
    return officer


def find_by_phone(session: Session, rt: Runtime, phone: str) -> Officer | None:
    """Return the roster entry for a phone number, if any."""
    return session.exec(select(Officer).where(Officer.phone_hash == rt.pseudonyms.of(phone))).first()


def set_duty(session: Session, rt: Runtime, phone: str, on_duty: bool) -> Officer:
    """Put an officer on or off duty."""
    officer = find_by_phone(session, rt, staff_number(phone))
    if officer is None or not officer.active:
        raise RosterError("No active roster entry has that number.")
    officer.on_duty = on_duty
    session.add(officer)
    return officer


def on_duty_officers(session: Session) -> list[Officer]:
    """Return active officers on duty in fair order: least recently assigned first."""
    query = (
        select(Officer)
        .where(Officer.active, Officer.on_duty, col(Officer.is_sergeant).is_(False))
        .order_by(col(Officer.last_assigned_at).is_not(None), col(Officer.last_assigned_at), col(Officer.id))
    )
    return list(session.exec(query).all())


def everyone(session: Session) -> list[Officer]:
    """Return the whole roster, sergeants first."""
    query = select(Officer).order_by(col(Officer.is_sergeant).desc(), col(Officer.name))
    return list(session.exec(query).all())


DEMO_ROSTER = (
    ("Sgt. Rivera", "+18165550100", True),
    ("Ofc. Chen", "+18165550101", False),
    ("Ofc. Okafor", "+18165550102", False),
    ("Ofc. Smith", "+18165550103", False),
)


def seed_demo(session: Session, rt: Runtime) -> int:
    """Add the demo roster (fictional 555 numbers, all on duty) to an empty roster."""
    if session.exec(select(Officer.id)).first() is not None:
        return 0
    for name, phone, sergeant in DEMO_ROSTER:
        add_officer(session, rt, name=name, phone=phone, sergeant=sergeant).on_duty = True
    return len(DEMO_ROSTER)
