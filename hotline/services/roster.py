"""The roster: who can be paged, who is on duty, and the shifts that put them on and off."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from hotline.plumbing import timers
from hotline.plumbing.privacy import normalise_phone
from hotline.plumbing.runtime import Runtime
from models import Officer, Shift, Timer
from models.clock import utcnow

log = logging.getLogger(__name__)

SHIFT_CHANGE = "shift_change"
_SHIFT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class RosterError(ValueError):
    """A roster change that cannot be made; the message says why."""


def staff_number(raw: str) -> str:
    """Return a staff phone number in E.164, or raise RosterError."""
    number = normalise_phone(raw)
    if number is None or not raw.strip().startswith("+"):
        raise RosterError(f"{raw!r} is not a phone number in E.164 form, e.g. +18165550123.")
    return number


def add_officer(
    session: Session,
    rt: Runtime,
    *,
    name: str,
    phone: str,
    sergeant: bool = False,
    shift: str | None = None,
    now: datetime | None = None,
) -> Officer:
    """Register an officer or sergeant (not on duty until they text ON or their shift starts)."""
    number = staff_number(phone)
    name = name.strip()
    if not name:
        raise RosterError("A name is needed.")
    phone_hash = rt.pseudonyms.of(number)
    if session.exec(select(Officer).where(Officer.phone_hash == phone_hash)).first():
        raise RosterError("That number is already on the roster.")
    starts_ends = parse_shift(shift) if shift else None
    officer = Officer(
        name=name[:80], phone_hash=phone_hash, phone_sealed=rt.vault.seal(number), is_sergeant=sergeant
    )
    session.add(officer)
    session.flush()
    if starts_ends:
        _store_shift(session, rt, officer, starts_ends, now=now or utcnow())
    return officer


def find_by_phone(session: Session, rt: Runtime, phone: str) -> Officer | None:
    """Return the roster entry for a phone number, if any."""
    return session.exec(select(Officer).where(Officer.phone_hash == rt.pseudonyms.of(phone))).first()


#: Fewer digits than this is a roster id ("3", "#12"); a phone number has more.
PHONE_DIGITS = 7


def find(session: Session, rt: Runtime, who: str) -> Officer:
    """Return the roster entry meant by a phone number, a roster id or a name; RosterError otherwise.

    `hotline officers list` shows ids and names but never numbers, so each of them names a person;
    a name that fits several is refused with their ids.
    """
    text = (who or "").strip()
    if text.startswith("+") or sum(c.isdigit() for c in text) >= PHONE_DIGITS:
        number = normalise_phone(text)
        if number is None:
            raise RosterError(f"{who!r} is not a phone number; give an E.164 number, a roster id or a name.")
        officer = find_by_phone(session, rt, number)
        if officer is None:
            raise RosterError("No roster entry has that number.")
        return officer
    found = match(session, text, active_only=False)
    if not found:
        raise RosterError(f"No roster entry has the id or name {who!r}; `hotline officers list` shows them.")
    if len(found) > 1:
        named = ", ".join(f"{o.name} (id {o.id})" for o in found)
        raise RosterError(f"{who!r} could be {named}: give the id.")
    return found[0]


# Asked of every inbound text, nearly always of a participant: built once, an id only.
def set_duty(session: Session, rt: Runtime, who: str, on_duty: bool) -> Officer:
    """Put an officer (a number, an id or a name) on or off duty; off: their offers go to the next."""
    officer = find(session, rt, who)
    if not officer.active:
        raise RosterError(f"{officer.name} (id {officer.id}) is inactive; an admin can reactivate them.")
    if not on_duty:
        from hotline.services import dispatch  # dispatch builds on the roster

        dispatch.withdraw_offers_of(session, rt, officer, now=utcnow())
    officer.on_duty = on_duty
    session.add(officer)
    return officer


def set_active(session: Session, rt: Runtime, who: str, active: bool) -> Officer:
    """Let a roster entry give commands and get pages again, or stop it (and take it off duty)."""
    officer = find(session, rt, who)
    if not active:
        from hotline.services import dispatch

        dispatch.withdraw_offers_of(session, rt, officer, now=utcnow())
        officer.on_duty = False
    officer.active = active
    session.add(officer)
    return officer


def everyone(session: Session) -> list[Officer]:
    """Return the whole roster, sergeants first."""
    query = select(Officer).order_by(col(Officer.is_sergeant).desc(), col(Officer.name))
    return list(session.exec(query).all())


def match(session: Session, words: str, *, active_only: bool = True) -> list[Officer]:
    """Return the (active) staff a sergeant means by a name, a surname or a roster id ("Chen", "3")."""
    wanted = " ".join(words.lower().replace(".", " ").split())
    query = select(Officer).order_by(col(Officer.id))
    people = session.exec(query.where(Officer.active) if active_only else query).all()
    if wanted.lstrip("#").isdigit():
        return [o for o in people if o.id == int(wanted.lstrip("#"))]
    if not wanted:
        return []
    exact = [
        o
        for o in people
        if wanted in (_bare_name(o.name), " ".join(o.name.lower().replace(".", " ").split()))
    ]
    if exact:
        return exact
    return [o for o in people if f" {wanted} " in f" {_bare_name(o.name)} "]


def _bare_name(name: str) -> str:
    """Return a name in lowercase words without its rank ("Ofc. Chen" -> "chen")."""
    words = name.lower().replace(".", " ").split()
    ranks = {"ofc", "officer", "sgt", "sergeant", "cpl", "det", "lt"}
    return " ".join(w for w in words if w not in ranks)


# -- shifts ----------------------------------------------------------------------------------


def parse_shift(text: str) -> tuple[str, str]:
    """Return (starts, ends) as HH:MM from "22:00-06:00", or raise RosterError."""
    found = _SHIFT.match(text or "")
    if not found:
        raise RosterError(f"{text!r} is not a shift; write it like 22:00-06:00 (local time).")
    h1, m1, h2, m2 = (int(part) for part in found.groups())
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) == (h2, m2):
        raise RosterError(f"{text!r} is not a shift; write it like 22:00-06:00 (local time).")
    return f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"


def set_shift(
    session: Session, rt: Runtime, who: str, shift: str | None, *, now: datetime | None = None
) -> Officer:
    """Give an officer (a number, an id or a name) a regular shift in the program's time zone, or none."""
    officer = find(session, rt, who)
    starts_ends = parse_shift(shift) if shift else None
    _cancel_shift_timers(session, officer.id)
    existing = session.exec(select(Shift).where(Shift.officer_id == officer.id)).first()
    if existing is not None:
        session.delete(existing)
        session.flush()
    if starts_ends:
        _store_shift(session, rt, officer, starts_ends, now=now or utcnow())
    return officer


def shift_of(session: Session, officer: Officer) -> Shift | None:
    """Return an officer's regular shift, if any."""
    return session.exec(select(Shift).where(Shift.officer_id == officer.id)).first()


def next_boundary(shift: Shift, now: datetime, timezone: str) -> tuple[datetime, bool]:
    """Return the next shift start or end after `now` (naive UTC) and whether it starts duty."""
    zone = ZoneInfo(timezone)
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    found: list[tuple[datetime, bool]] = []
    for clock, starts in ((shift.starts, True), (shift.ends, False)):
        hour, minute = (int(part) for part in clock.split(":"))
        for days in range(0, 3):
            day = local_now.date() + timedelta(days=days)
            # Built as local wall time, so a shift keeps its clock time across DST changes.
            moment = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
            moment = moment.replace(tzinfo=None)
            if moment > now:
                found.append((moment, starts))
                break
    return min(found)


def _store_shift(
    session: Session, rt: Runtime, officer: Officer, starts_ends: tuple[str, str], *, now: datetime
) -> None:
    shift = Shift(officer_id=officer.id, starts=starts_ends[0], ends=starts_ends[1])
    session.add(shift)
    session.flush()
    _schedule_next(session, rt, shift, now)


def _schedule_next(session: Session, rt: Runtime, shift: Shift, now: datetime) -> None:
    """Add the timer for the shift's next start or end."""
    due, starts = next_boundary(shift, now, rt.program.timezone)
    timers.schedule_timer(
        session,
        kind=SHIFT_CHANGE,
        due_at=due,
        payload={"officer": shift.officer_id, "shift": shift.id, "duty": "on" if starts else "off"},
        dedupe_key=f"shift:{shift.officer_id}:{shift.id}:{due.isoformat()}",
    )


def _cancel_shift_timers(session: Session, officer_id: int) -> None:
    session.execute(
        update(Timer)
        .where(
            Timer.kind == SHIFT_CHANGE,
            Timer.status == "pending",
            col(Timer.dedupe_key).startswith(f"shift:{officer_id}:"),
        )
        .values(status="cancelled")
    )


@timers.register(SHIFT_CHANGE)
def _shift_change(session: Session, rt: Runtime, timer: Timer) -> None:
    """Put an officer on or off duty at a shift boundary, then schedule the next one."""
    payload = json.loads(timer.payload or "{}")
    shift = session.get(Shift, payload.get("shift"))
    officer = session.get(Officer, payload.get("officer"))
    if shift is None or officer is None or shift.officer_id != officer.id:
        log.info("timer %s: shift gone; nothing to do", timer.id)
        return
    on_duty = payload.get("duty") == "on"
    if officer.active:
        if not on_duty:
            from hotline.services import dispatch

            dispatch.withdraw_offers_of(session, rt, officer, now=timer.due_at)
        officer.on_duty = on_duty
        session.add(officer)
        log.info("officer %s %s duty by shift", officer.id, "on" if on_duty else "off")
    # From the boundary just passed, not from now: a worker that was down catches up boundary
    # by boundary (each fires at once) and ends in the state the clock says.
    _schedule_next(session, rt, shift, timer.due_at)


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
