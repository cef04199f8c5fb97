"""Conversation service: one inbound text, one turn of the flow (or one staff command), one commit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from flows import INTAKE, Event, Step
from flows.danger import is_crisis
from flows.intents import normalise, read_folded_command
from flows.language import detect_language
from flows.plans import is_about_self
from hotline.plumbing import outbox, staff
from hotline.plumbing.runtime import Runtime
from hotline.services import alerts, commands, dispatch, report, retention
from models import Conversation, Dispatch, InboundMessage, Officer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """An inbound text, stripped of everything the hotline does not use."""

    sid: str
    sender: str
    body: str
    num_media: int = 0
    to: str = ""  # which of our numbers it was sent to


def handle_sms(
    rt: Runtime, inbound: Inbound, *, now: datetime | None = None, sender_hash: str | None = None
) -> list[str]:
    """Answer an inbound text: a staff command from an active staff number, else a flow turn.

    The same MessageSid always gets the same answer and changes things once. `sender_hash`:
    the sender's pseudonym when the caller has it already.
    """
    now = now or utcnow()
    sender_hash = sender_hash or rt.pseudonyms.of(inbound.sender)
    if rt.staff_number and inbound.to == rt.staff_number:
        return _on_staff_line(rt, inbound, sender_hash, now)
    try:
        texts = _plain_turn(rt, inbound, sender_hash, now)
        if texts is not None:
            return texts
        with rt.db.unit_of_work() as session:
            officer = staff.active_staff(session, sender_hash) if staff.may_be_staff(inbound.sender) else None
            if officer is not None:
                texts = _command(session, rt, inbound, officer, now)
            else:
                texts = _turn(session, rt, inbound, sender_hash, now)
            session.commit()
            return texts
    except IntegrityError:
        # Another worker committed this MessageSid between our check and our insert.
        with rt.db.reading() as session:
            return _stored_texts(rt, _seen(session, inbound.sid))


def _on_staff_line(rt: Runtime, inbound: Inbound, sender_hash: str, now: datetime) -> list[str]:
    """Answer a text to the staff number: a command from active staff, else the way to the hotline.

    Someone else who finds the staff number (a forwarded text, an old officer's phone) gets
    911 first and the hotline number, in their language, and nothing is stored: a conversation
    here would answer from two numbers, and a surge on this number would hold up the offers.
    """
    try:
        with rt.db.unit_of_work() as session:
            officer = staff.active_staff(session, sender_hash)
            if officer is not None:
                texts = _command(session, rt, inbound, officer, now)
                session.commit()
                return texts
    except IntegrityError:
        with rt.db.reading() as session:
            return _stored_texts(rt, _seen(session, inbound.sid))
    folded = normalise(inbound.body)
    danger, said = read_folded_command(folded)
    language = said or detect_language(folded) or "en"
    number = {"hotline_number": readable_number(rt.hotline_number)}
    log.info("text %s to the staff number from a number not on the roster", inbound.sid)
    # Emergency or suicidal words get what the hotline number would say first, wherever they arrive.
    keys = []
    if danger == "emergency":
        keys.append("emergency.self" if is_about_self(folded) else "emergency")
        if is_crisis(folded):
            keys.append("crisis.after_emergency")
    elif danger == "crisis":
        keys.append("crisis")
    return [rt.catalog.render(key, language) for key in keys] + [
        rt.catalog.render("staff_line", language, number)
    ]


def readable_number(number: str) -> str:
    """Write a North American E.164 number the way people read it: (816) 555-0100."""
    digits = number.removeprefix("+1")
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def _command(session: Session, rt: Runtime, inbound: Inbound, officer: Officer, now: datetime) -> list[str]:
    """Carry out a staff command once per MessageSid (staff have no conversation row)."""
    seen = _seen(session, inbound.sid)
    if seen is not None:
        log.info("repeat delivery of %s answered from the log", inbound.sid)
        return _stored_texts(rt, seen)
    # Claim the SID first: a concurrent repeat waits here and then fails on the unique key,
    # so its command is rolled back whole and it answers with what this one stored.
    claim = InboundMessage(sid=inbound.sid, conversation_id=None, received_at=now)
    session.add(claim)
    session.flush()
    texts = commands.handle(session, rt, officer, inbound.body, now=now)
    claim.reply_sealed = rt.vault.seal(json.dumps(texts))
    session.add(claim)
    log.info("staff text %s from officer %s handled", inbound.sid, officer.id)
    return texts


@dataclass(frozen=True)
class Snapshot:
    """A conversation as one read saw it: what a plain turn is decided from."""

    id: int
    state: str | None
    data_sealed: str | None
    language: str
    opted_out: bool
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class _Look:
    conversation: Snapshot
    staff_id: int | None
    seen_id: int | None
    reply_sealed: str | None
    request_id: int | None


# One read for a plain turn: the sender's conversation, whether the number is active staff,
# whether this MessageSid was answered already (and with what), and the conversation's request
# (open first, then the newest; as dispatch.latest_for). Plain SQL on the driver: on this path
# the ORM and the SQL layer cost ten times what the database does.
_LOOK = f"""
SELECT c.id, c.state, c.data_sealed, c.language, c.opted_out, c.version, c.updated_at,
       (SELECT o.id FROM officer AS o WHERE o.phone_hash = :staff_hash AND o.active LIMIT 1),
       m.id, m.reply_sealed,
       (SELECT d.id FROM dispatch AS d WHERE d.conversation_id = c.id
         ORDER BY CASE WHEN d.status IN ({", ".join(f"'{s}'" for s in OPEN_STATUSES)}) THEN 0 ELSE 1 END,
                  d.id DESC
         LIMIT 1)
FROM conversation AS c LEFT JOIN inbound_message AS m ON m.sid = :sid
WHERE c.sender_hash = :sender_hash
"""

# The write of a plain turn: only if nobody moved the conversation on since it was read.
_MOVE_ON = """
UPDATE conversation
SET state = :new_state, language = :new_language, data_sealed = :new_data, version = version + 1,
    updated_at = :received_at
WHERE id = :conversation_id AND version = :read_version
"""
_LOG_TURN = """
INSERT INTO inbound_message (sid, conversation_id, reply_sealed, received_at)
VALUES (:sid, :conversation_id, :reply_sealed, :received_at)
"""
# On PostgreSQL, both as one statement: both happen, or neither.
_MOVE_ON_AND_LOG = f"""
WITH moved AS ({_MOVE_ON} RETURNING id)
INSERT INTO inbound_message (sid, conversation_id, reply_sealed, received_at)
SELECT :sid, moved.id, :reply_sealed, :received_at FROM moved
RETURNING id
"""


def _plain_turn(rt: Runtime, inbound: Inbound, sender_hash: str, now: datetime) -> list[str] | None:
    """Answer a turn that only moves the flow on: decided from one read, written if nothing moved.

    Most texts are such turns (a screening answer, the info menu). Deciding them outside any
    lock and then writing with a check of the conversation's version keeps the lock (SQLite's
    single writer, PostgreSQL's row lock) for one short write, so texts from different senders
    are worked out side by side. None: the locked path must take this text (a new sender, a
    staff number, an open request, a step with effects or into a report milestone, or a
    conversation changed since it was read).
    """
    with rt.db.driver() as connection:  # one pooled connection for the read and the write
        staff_hash = sender_hash if staff.may_be_staff(inbound.sender) else ""
        found = _look(rt, connection, sender_hash, staff_hash, inbound.sid)
        if found is None or found.staff_id is not None:
            return None
        if found.seen_id is not None:
            log.info("repeat delivery of %s answered from the log", inbound.sid)
            return _stored_texts(rt, found)
        conversation = found.conversation
        request, relay = None, False
        if found.request_id is not None:
            with rt.db.reading() as session:
                request = session.get(Dispatch, found.request_id)
                if request is not None and request.is_open:
                    return None  # officers and the sergeant move an open request on: decide it locked
                relay = dispatch.can_relay(session, request)
        step, texts = _decide(rt, inbound, conversation, request, relay, now)
        if step.effects or (step.state != conversation.state and step.state in report.MILESTONES):
            return None  # the locked path carries out effects, and counts milestones as it saves
        values = {
            "conversation_id": conversation.id,
            "read_version": conversation.version,
            "new_state": step.state,
            "new_language": step.language,
            "new_data": rt.vault.seal(json.dumps(step.data)),
            "sid": inbound.sid,
            "reply_sealed": rt.vault.seal(json.dumps(texts)),
            "received_at": rt.db.to_driver(InboundMessage.__table__.c.received_at)(now),
        }
        if not _write_plain_turn(rt, connection, values):
            log.info("turn %s: conversation %s changed meanwhile; locked path", inbound.sid, conversation.id)
            return None
    log.debug("turn %s: conversation %s now %s", inbound.sid, conversation.id, step.state)
    return texts


def _look(rt: Runtime, connection: Any, sender_hash: str, staff_hash: str, sid: str) -> _Look | None:
    """Read what a plain turn is decided from, in one statement (None: a new sender).

    `staff_hash`: the sender's pseudonym if the sender could be staff, else "" (matches nobody).
    """
    params = {"sender_hash": sender_hash, "staff_hash": staff_hash, "sid": sid}
    row = connection.execute(rt.db.native(_LOOK), params).fetchone()
    if row is None:
        return None
    updated_at = rt.db.from_driver(Conversation.__table__.c.updated_at)(row[6])
    conversation = Snapshot(row[0], row[1], row[2], row[3], bool(row[4]), row[5], updated_at)
    return _Look(conversation, row[7], row[8], row[9], row[10])


def _write_plain_turn(rt: Runtime, connection: Any, values: dict[str, Any]) -> bool:
    """Store a plain turn if its conversation is still as it was read; False if it is not."""
    if not rt.db.is_sqlite:
        # Outside a transaction, this one statement commits by itself, and a repeated MessageSid
        # fails it whole on the unique key.
        return connection.execute(rt.db.native(_MOVE_ON_AND_LOG), values).fetchone() is not None
    with rt.db.writer_turn():  # the single writer, for two statements
        connection.execute("BEGIN IMMEDIATE")
        try:
            if connection.execute(_MOVE_ON, values).rowcount != 1:
                connection.execute("ROLLBACK")
                return False
            connection.execute(_LOG_TURN, values)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return True


def _turn(session: Session, rt: Runtime, inbound: Inbound, sender_hash: str, now: datetime) -> list[str]:
    """Run one turn of the participant flow inside the caller's unit of work, the conversation locked."""
    conversation = lock_conversation(session, sender_hash, channel="sms", now=now)
    seen = _seen(session, inbound.sid)
    if seen is not None:
        log.info("repeat delivery of %s answered from the log", inbound.sid)
        return _stored_texts(rt, seen)
    # Shared lock on PostgreSQL: an officer's ACCEPT or a sergeant's change of this request
    # commits first or waits for this turn, so the turn never answers from a stale status.
    request = dispatch.latest_for(session, conversation.id, lock=True)
    relay = dispatch.can_relay(session, request)
    nobody = conversation.state == "confirm" and not dispatch.on_duty_officers(session)
    step, texts = _decide(rt, inbound, conversation, request, relay, now, nobody)
    apply_effects(session, rt, conversation, step, request, contact=inbound.sender, now=now)
    save_step(rt, conversation, step, now)
    session.add(conversation)
    log_reply(session, inbound.sid, conversation.id, rt.vault.seal(json.dumps(texts)), now)
    log.debug("turn %s: conversation %s now %s", inbound.sid, conversation.id, step.state)
    return texts


def _decide(
    rt: Runtime,
    inbound: Inbound,
    conversation: Conversation | Snapshot,
    request: Dispatch | None,
    relay: bool,
    now: datetime,
    nobody_on_duty: bool = False,
) -> tuple[Step, list[str]]:
    """Run the flow on one text: the step it takes and the texts that answer it."""
    context = _context(rt, conversation, request, now, relay=relay)
    context["nobody_on_duty"] = nobody_on_duty
    step = INTAKE.handle(
        conversation.state,
        load_data(rt, conversation),
        Event(text=inbound.body, channel="sms", context=context),
    )
    return step, [rt.catalog.render(r.key, step.language, dict(r.params)) for r in step.replies]


def lock_conversation(session: Session, sender_hash: str, *, channel: str, now: datetime) -> Conversation:
    """Return the sender's conversation, created if new, locked for this transaction.

    Two messages from one sender on two workers are applied one after the other: the row
    lock (PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE) serialises them.
    """
    dialect = session.get_bind().dialect.name
    statement = _UPSERT["postgresql" if dialect == "postgresql" else "sqlite"]
    values = {"sender_hash": sender_hash, "channel": channel, "created_at": now, "updated_at": now}
    # One round trip: the row comes back whether it was just made or already there, and on
    # PostgreSQL ON CONFLICT DO UPDATE holds its lock until commit, as FOR UPDATE would.
    return session.scalars(statement, values, execution_options={"populate_existing": True}).one()


def _upsert(insert) -> Any:
    statement = insert(Conversation.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["sender_hash"], set_={"sender_hash": statement.excluded.sender_hash}
    )
    # Loaded as a query's rows would be, rather than through the ORM's bulk-insert path.
    return select(Conversation).from_statement(statement.returning(*Conversation.__table__.c))


_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}
_SEEN = select(InboundMessage.id, InboundMessage.reply_sealed).where(InboundMessage.sid == bindparam("sid"))


_LOG = insert(InboundMessage).values(
    sid=bindparam("sid"),
    conversation_id=bindparam("conversation_id"),
    reply_sealed=bindparam("reply_sealed"),
    received_at=bindparam("received_at"),
)


def log_reply(session: Session, sid: str, conversation_id: int | None, sealed: str | None, now: datetime):
    """Log a handled MessageSid with its sealed reply (a second one fails on the unique key)."""
    values = {"sid": sid, "conversation_id": conversation_id, "reply_sealed": sealed, "received_at": now}
    session.connection().execute(_LOG, values)


def _seen(session: Session, sid: str) -> Any:
    """Return the logged reply row of a MessageSid or voice step already handled, if any."""
    return session.connection().execute(_SEEN, {"sid": sid}).first()


def load_data(rt: Runtime, conversation: Conversation) -> dict[str, Any]:
    """Return the flow's stored data for a conversation."""
    opened = rt.vault.open(conversation.data_sealed)
    if conversation.data_sealed and opened is None:
        log.error("conversation %s data unreadable (key removed?); starting over", conversation.id)
    return json.loads(opened) if opened else {}


def save_step(rt: Runtime, conversation: Conversation, step: Step, now: datetime) -> None:
    """Store where the flow is now (the data sealed: it can hold the pickup place)."""
    conversation.state = step.state
    conversation.language = step.language
    conversation.data_sealed = rt.vault.seal(json.dumps(step.data))
    conversation.version += 1
    conversation.updated_at = now


def _context(
    rt: Runtime, conversation: Conversation, request: Dispatch | None, now: datetime, *, relay: bool = False
):
    idle = timedelta(hours=rt.program.idle_reset_hours)
    return {
        # relay: the participant's texts may go to their officer (accepted, consented, not opted out).
        "request": (
            {"ref": request.ref, "status": request.status, "relay": relay, "kind": request.kind}
            if request
            else None
        ),
        "idle": conversation.state is not None and now - conversation.updated_at > idle,
        "opted_out": conversation.opted_out,
        "reask_limit": rt.program.reask_limit,
    }


def _stored_texts(rt: Runtime, seen: Any) -> list[str]:
    opened = rt.vault.open(seen.reply_sealed) if seen else None
    return json.loads(opened) if opened else []


def apply_effects(
    session: Session,
    rt: Runtime,
    conversation: Conversation,
    step: Step,
    request: Dispatch | None,
    *,
    contact: str,
    now: datetime,
) -> None:
    """Carry out what the flow asked for, inside the turn's transaction."""
    open_request = request if request is not None and request.is_open else None
    when = staff.local_time(now, rt.program.timezone)
    for effect in step.effects:
        kind, params = effect.kind, effect.params
        if kind == "alert_sergeant":
            alerts.danger(session, rt, conversation, str(params.get("reason")), open_request, now=now)
        elif kind == "opt_out":
            conversation.opted_out = True
            cancelled = outbox.cancel_pending_to(session, conversation.sender_hash)
            log.info("conversation %s opted out; %d queued texts cancelled", conversation.id, cancelled)
            if open_request is not None:
                text = staff.render("participant_stopped", ref=open_request.ref, time=when)
                staff.alert_sergeants(
                    session, rt, text, dispatch=open_request, dedupe=f"stopped:{open_request.ref}:{now}"
                )
        elif kind == "opt_in":
            conversation.opted_out = False
        elif kind in ("request_ride", "request_callback"):
            if open_request is not None:
                log.info("conversation %s already has open request %s", conversation.id, open_request.ref)
                continue
            # A call-back keeps when it is safe to call where a ride keeps its place: sealed.
            answers = params.get("answers")
            if kind == "request_callback":
                answers = {"place": params.get("when") or None}
            open_request = dispatch.open_request(
                session,
                rt,
                conversation,
                kind="ride" if kind == "request_ride" else "callback",
                language=step.language,
                answers=answers,
                contact=contact,
                now=now,
            )
        elif kind == "cancel_request" and open_request is not None:
            text = staff.render("request_cancelled", ref=open_request.ref, time=when)
            dispatch.close(
                session, rt, open_request, status="cancelled", actor="participant", staff_text=text, now=now
            )
            open_request = None
        elif kind == "relay" and open_request is not None:
            if not dispatch.relay_to_officer(session, rt, open_request, str(params.get("text", "")), now=now):
                log.warning("conversation %s: relay to %s not allowed now", conversation.id, open_request.ref)
        elif kind == "change_place" and open_request is not None:
            if not alerts.change_place(session, rt, open_request, str(params.get("place") or ""), now=now):
                log.warning("conversation %s: place of %s not changed", conversation.id, open_request.ref)
        elif kind == "delete_data":
            erase_participant(session, rt, conversation, now=now)
            open_request = None
        elif kind not in ("cancel_request", "relay", "change_place"):
            log.error("unknown flow effect %r ignored", kind)


def erase_participant(session: Session, rt: Runtime, conversation: Conversation, *, now: datetime) -> None:
    """Erase everything stored about a sender; only SIDs and de-identified counts remain."""
    retention.erase_traces(session, rt, conversation, now=now)
    when = staff.local_time(now, rt.program.timezone)
    requests = session.exec(select(Dispatch).where(Dispatch.conversation_id == conversation.id)).all()
    for request in requests:
        if request.is_open:
            text = staff.render("participant_deleted", ref=request.ref, time=when)
            dispatch.close(
                session, rt, request, status="cancelled", actor="participant", staff_text=text, now=now
            )
        request.place_sealed = None
        request.contact_sealed = None
        request.conversation_id = None
        session.add(request)
    outbox.cancel_pending_to(session, conversation.sender_hash)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.conversation_id == conversation.id)
        .values(reply_sealed=None, conversation_id=None)
    )
    log.info("conversation %s erased on request", conversation.id)
