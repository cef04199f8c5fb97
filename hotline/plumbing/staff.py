"""Texts for officers and the sergeant, from hotline/staff.toml, and the alert to the sergeants on duty."""

from __future__ import annotations

import functools
import logging
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from hotline.plumbing import outbox
from hotline.plumbing.privacy import is_plain_number
from hotline.plumbing.runtime import Runtime
from models import Dispatch, Officer

TEXTS_PATH = Path(__file__).parent.with_name("staff.toml")
log = logging.getLogger(__name__)
ANSWERS = {"yes": "yes", "no": "no", "not_sure": "not sure", None: "-"}


@functools.cache
def texts() -> dict[str, str]:
    """Return the staff texts, read once."""
    return tomllib.loads(TEXTS_PATH.read_text(encoding="utf-8"))


def render(key: str, **params: object) -> str:
    """Fill a staff text's placeholders."""
    return texts()[key].format(**params)


def local_time(moment: datetime, timezone: str) -> str:
    """Show a stored UTC time as the program's local clock time, e.g. 14:05."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def answer(value: str | None) -> str:
    """Show an enum answer in words."""
    return ANSWERS.get(value, value or "-")


def language(code: str | None) -> str:
    """Name a participant's language for staff ("Spanish"), from its code."""
    return texts().get(f"language_{code}", code or "-")


def kind(value: str | None) -> str:
    """Name a request's kind for staff: "ride" or "call-back" (a call-back is never a ride)."""
    return texts().get(f"kind_{value}", value or "-")


def sergeants(session: Session) -> list[Officer]:
    """Return who gets alerts: active sergeants on duty, or every active sergeant if none is."""
    active = session.exec(
        select(Officer).where(Officer.is_sergeant, Officer.active).order_by(col(Officer.id))
    ).all()
    on_duty = [officer for officer in active if officer.on_duty]
    return on_duty or list(active)


def alert_sergeants(
    session: Session,
    rt: Runtime,
    text: str,
    *,
    dispatch: Dispatch | None = None,
    dedupe: str | None = None,
    skip: int | None = None,
) -> int:
    """Queue an alert to every sergeant who should see it (but `skip`); return how many were queued."""
    queued = 0
    for sergeant in sergeants(session):
        if sergeant.id == skip:
            continue
        number = rt.vault.open(sergeant.phone_sealed)
        if not number:
            log.error("sergeant %s has an unreadable phone number", sergeant.id)
            continue
        row = outbox.enqueue(
            session,
            rt,
            to=number,
            body=text,
            audience="staff",
            purpose="alert",
            officer_id=sergeant.id,
            dispatch_id=dispatch.id if dispatch else None,
            dedupe_key=f"{dedupe}:{sergeant.id}" if dedupe else None,
        )
        queued += row is not None
    if not queued and skip is None:
        log.error("no sergeant could be alerted (dispatch %s)", dispatch.ref if dispatch else "-")
    return queued


_ACTIVE_STAFF = select(Officer.id).where(Officer.phone_hash == bindparam("phone_hash"), Officer.active)


def may_be_staff(sender: str) -> bool:
    """Tell whether a sender could be staff: a bare E.164 number only.

    `whatsapp:+1816…`, `tel:+1816…`, `8165550100` or `+1816…;ext=9` map to the same pseudonym as
    the number, but no carrier delivers a text from a roster phone that way: such a sender is a
    participant, whatever number it names.
    """
    return is_plain_number(sender)


def active_staff(session: Session, phone_hash: str) -> Officer | None:
    """Return the active roster entry with this number's pseudonym: only they may give commands."""
    officer_id = session.connection().execute(_ACTIVE_STAFF, {"phone_hash": phone_hash}).scalar()
    return session.get(Officer, officer_id) if officer_id is not None else None
