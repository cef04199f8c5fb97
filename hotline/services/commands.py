"""Staff commands by SMS: what officers and sergeants text the hotline, and its answers.

Only a registered, active staff number reaches this module (the conversation service routes
everything else to the participant flow, so staff words from other numbers reveal nothing).
ACCEPT and DECLINE also need the offer's one-time code: a spoofed sender number alone can do
no more than ask for help, and the answer goes to the real phone. Every accepted command that
changes something is echoed to the sergeant, so a spoofed one is seen at once.

None of our commands is one of Twilio's single opt-out words: CANCEL needs a reference
(CANCEL R7K2), and STOP or a bare CANCEL from staff is treated as what Twilio makes of it.

Every staff text is written to the audit log as `sms.<command>` (with how it ended where that
matters: `sms.accept_wrong_code`, `sms.accept_paused` ...), ids and references only. After
WRONG_CODES_ALLOWED wrong offer codes in CODE_PAUSE, an officer's ACCEPT and DECLINE are not
checked for CODE_PAUSE (guessing a code takes thousands of tries), and the sergeant is told once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text as sql_text
from sqlmodel import Session, col, func, select

from hotline.plumbing import audit, staff
from hotline.plumbing.runtime import Runtime
from hotline.services import callbacks, dispatch, roster
from models import AuditEntry, Dispatch, Offer, Officer

log = logging.getLogger(__name__)

#: Twilio blocks a number that texts one of these as a single word (and tells us nothing else).
TWILIO_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
TWILIO_OPT_IN = frozenset({"START", "UNSTOP"})
MSG_LIMIT = 300
_COMMAND = re.compile(r"\s*([A-Za-z]+)[\s:;,.!#-]*(.*)", re.S)
_REF = re.compile(r"^[A-Za-z0-9]{4}$")
#: Wrong offer codes one officer may send in CODE_PAUSE before ACCEPT and DECLINE pause for as long.
WRONG_CODES_ALLOWED = 5
CODE_PAUSE = timedelta(minutes=10)
WRONG_CODE = ("sms.accept_wrong_code", "sms.decline_wrong_code")
PAUSED = "sms.codes_paused"
#: The PostgreSQL advisory lock space of officers' answers to offers (any constant of our own).
ANSWER_LOCKS = 0x5AFE


@dataclass(frozen=True)
class Command:
    """A staff text split into its command word (upper case) and the rest, as written."""

    word: str
    rest: str

    @property
    def args(self) -> list[str]:
        return self.rest.split()


def parse(body: str) -> Command:
    """Split a staff text into command word and the rest ("accept4821" -> ACCEPT, "4821")."""
    found = _COMMAND.match(body or "")
    if not found:
        return Command("", (body or "").strip())
    return Command(found[1].upper(), found[2].strip())


@dataclass
class Context:
    """One staff text being handled: who sent it and when, and what the audit log says of it."""

    session: Session
    rt: Runtime
    officer: Officer
    now: datetime
    outcome: str = ""  # how the command ended, when that matters: "wrong_code", "paused" ...
    target: str | None = None  # what it acted on: "dispatch:R7K2"

    @property
    def actor(self) -> str:
        return f"officer:{self.officer.id}"

    def about(self, request: Dispatch | None) -> None:
        """Name the request this command acted on, for the audit log."""
        if request is not None:
            self.target = f"dispatch:{request.ref}"

    @property
    def when(self) -> str:
        return staff.local_time(self.now, self.rt.program.timezone)

    def echo(self, key: str, target: Dispatch | None = None, **params: object) -> None:
        """Tell the sergeant (but not the sender) about a command that changed something."""
        text = staff.render(key, officer=self.officer.name, time=self.when, **params)
        staff.alert_sergeants(self.session, self.rt, text, dispatch=target, skip=self.officer.id)


def handle(session: Session, rt: Runtime, officer: Officer, body: str, *, now: datetime) -> list[str]:
    """Carry out one staff text inside the caller's transaction; return the texts to answer with."""
    command = parse(body)
    ctx = Context(session, rt, officer, now)
    if command.word in TWILIO_OPT_OUT and not command.rest:
        _audit(ctx, "stop")
        return _stopped(ctx)
    handler = HANDLERS.get(command.word)
    if handler is None or (command.word in SERGEANT_ONLY and not officer.is_sergeant):
        if handler is not None:
            _audit(ctx, command.word, "refused")
            return [staff.render("reply_sergeant_only", command=command.word)]
        _audit(ctx, "unknown")  # the words are the officer's own: not logged
        return [_help(officer)]
    replies = handler(ctx, command)
    _audit(ctx, command.word, ctx.outcome)
    log.info("staff command %s from officer %s", command.word, officer.id)
    return replies


def _audit(ctx: Context, word: str, outcome: str = "") -> None:
    """Write the command to the audit log: who, which command and how it ended, on which request."""
    action = f"sms.{word.lower()}" + (f"_{outcome}" if outcome else "")
    audit.record(ctx.session, ctx.actor, action, target=ctx.target, at=ctx.now)


def _help(officer: Officer) -> str:
    return staff.render("help_sergeant" if officer.is_sergeant else "help_officer")


# -- offers ----------------------------------------------------------------------------------


def _answer(ctx: Context, command: Command) -> list[str]:
    accept = command.word == "ACCEPT"
    code = command.args[0].lstrip("#") if command.args else ""
    if not code:
        return [staff.render("reply_needs_code", command=command.word)]
    _one_answer_at_a_time(ctx)
    if _codes_paused(ctx):
        ctx.outcome = "paused"
        return [staff.render("reply_codes_paused", minutes=_minutes(CODE_PAUSE))]
    answer = dispatch.answer_offer(ctx.session, ctx.rt, ctx.officer, code, accept=accept, now=ctx.now)
    target = answer.dispatch
    ctx.about(target)
    ctx.outcome = {"accepted": "", "declined": "", "wrong": "wrong_code"}.get(answer.outcome, answer.outcome)
    ref = target.ref if target else ""
    if answer.outcome == "accepted":
        ctx.echo("echo_accepted", target, ref=ref)
        return [staff.render("reply_accepted", ref=ref, place=dispatch.place_of(ctx.rt, target))]
    if answer.outcome == "declined":
        ctx.echo("echo_declined", target, ref=ref)
        return [staff.render("reply_declined", ref=ref)]
    if answer.outcome == "wrong":
        if _wrong_codes(ctx) + 1 >= WRONG_CODES_ALLOWED:
            return [_pause_codes(ctx)]
        return [staff.render("reply_wrong_code")]
    key = {
        "taken": "reply_taken",
        "closed": "reply_closed",
        "expired": "reply_expired",
        "used": "reply_used",
        "already": "reply_already_yours",
    }[answer.outcome]
    return [staff.render(key, ref=ref)]


def _one_answer_at_a_time(ctx: Context) -> None:
    """Wait for this officer's other ACCEPT or DECLINE to commit: a burst of guesses counts one by one.

    SQLite has one writer at a time already. On PostgreSQL a lock of its own, apart from the rows
    an answer locks (the request, then the officer), so waiting for it closes no circle with them.
    """
    if not ctx.rt.db.is_sqlite:
        ctx.session.execute(
            sql_text("SELECT pg_advisory_xact_lock(:space, :officer)"),
            {"space": ANSWER_LOCKS, "officer": ctx.officer.id},
        )


def _wrong_codes(ctx: Context) -> int:
    """Count this officer's wrong codes in the last CODE_PAUSE (this one not yet among them)."""
    return ctx.session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.actor == ctx.actor,
            col(AuditEntry.action).in_(WRONG_CODE),
            AuditEntry.at > ctx.now - CODE_PAUSE,
        )
    ).one()


def _codes_paused(ctx: Context) -> bool:
    """Tell whether this officer's codes are paused: too many wrong ones, less than CODE_PAUSE ago."""
    since = ctx.now - CODE_PAUSE
    return (
        ctx.session.exec(
            select(AuditEntry.id).where(
                AuditEntry.actor == ctx.actor, AuditEntry.action == PAUSED, AuditEntry.at > since
            )
        ).first()
        is not None
    )


def _pause_codes(ctx: Context) -> str:
    """Pause this officer's ACCEPT and DECLINE, tell the sergeant (once), and say so to the sender."""
    audit.record(ctx.session, ctx.actor, PAUSED, target=f"officer:{ctx.officer.id}", at=ctx.now)
    minutes = _minutes(CODE_PAUSE)
    text = staff.render(
        "codes_paused", time=ctx.when, count=WRONG_CODES_ALLOWED, officer=ctx.officer.name, minutes=minutes
    )
    staff.alert_sergeants(ctx.session, ctx.rt, text)
    log.warning(
        "officer %s: %d wrong offer codes; ACCEPT and DECLINE paused", ctx.officer.id, WRONG_CODES_ALLOWED
    )
    return staff.render("reply_codes_paused", minutes=minutes)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


# -- on the case -----------------------------------------------------------------------------


def _my_ride(ctx: Context, words: list[str]) -> tuple[Dispatch | None, list[str], str | None]:
    """Return the ride a command is about, the words left, or a reply saying what is missing."""
    rides = dispatch.assigned_to(ctx.session, ctx.officer)
    if words and _REF.match(words[0]):
        named = [d for d in rides if d.ref == words[0].upper()]
        if named:
            return named[0], words[1:], None
    if len(rides) == 1:
        return rides[0], words, None
    if not rides:
        return None, words, staff.render("reply_no_ride")
    refs = ", ".join(d.ref for d in rides)
    return None, words, staff.render("reply_which_ref", refs=refs, example=f"ARRIVED {rides[0].ref}")


def _arrived(ctx: Context, command: Command) -> list[str]:
    ride, _, problem = _my_ride(ctx, command.args)
    if ride is None:
        return [problem]
    ctx.about(ride)
    dispatch.mark_arrived(ctx.session, ctx.rt, ride, ctx.officer, now=ctx.now)
    ctx.echo("echo_arrived", ride, ref=ride.ref)
    return [staff.render("reply_arrived", ref=ride.ref)]


def _done(ctx: Context, command: Command) -> list[str]:
    words = command.args
    outcome = next((w.lower() for w in words if w.lower() in dispatch.OUTCOMES), None)
    rest = [w for w in words if w.lower() != outcome]
    if outcome is None:
        outcome, rest = callbacks.read_outcome(words)
    ride, _, problem = _my_ride(ctx, rest)
    if ride is None:
        return [problem if outcome else staff.render("reply_done_usage")]
    # A call-back ends as a call does (reached, no answer, ...), a ride as a ride does.
    if ride.kind == "callback" and outcome not in callbacks.OUTCOMES:
        return [staff.render("reply_done_call_usage")]
    if ride.kind != "callback" and outcome not in dispatch.OUTCOMES:
        return [staff.render("reply_done_usage")]
    ctx.about(ride)
    text = staff.render("echo_done", officer=ctx.officer.name, time=ctx.when, ref=ride.ref, outcome=outcome)
    dispatch.close(
        ctx.session,
        ctx.rt,
        ride,
        status="completed",
        actor=dispatch.actor_of(ctx.officer),
        outcome=outcome,
        staff_text=text,
        now=ctx.now,
    )
    return [staff.render("reply_done", ref=ride.ref, outcome=outcome.upper().replace("_", " "))]


def _cancel(ctx: Context, command: Command) -> list[str]:
    if not command.args:
        return [staff.render("reply_cancel_usage")]
    ref = command.args[0].upper()
    target = dispatch.by_ref(ctx.session, ref)
    if target is None or not target.is_open:
        return [staff.render("reply_unknown_ref", ref=ref[:8])]
    ctx.about(target)
    if not ctx.officer.is_sergeant and target.officer_id != ctx.officer.id:
        ctx.outcome = "refused"
        return [staff.render("reply_not_yours", ref=target.ref)]
    text = staff.render("echo_cancelled", officer=ctx.officer.name, time=ctx.when, ref=target.ref)
    dispatch.close(
        ctx.session,
        ctx.rt,
        target,
        status="cancelled",
        actor=dispatch.actor_of(ctx.officer),
        staff_text=text,
        now=ctx.now,
    )
    return [staff.render("reply_cancelled", ref=target.ref)]


def _msg(ctx: Context, command: Command) -> list[str]:
    rides = dispatch.assigned_to(ctx.session, ctx.officer)
    first, _, after = command.rest.partition(" ")
    named = [d for d in rides if _REF.match(first) and d.ref == first.upper() and after.strip()]
    if named:
        ride, text = named[0], after.strip()
    else:
        ride, _, problem = _my_ride(ctx, [])
        if ride is None:
            return [problem]
        text = command.rest
    ctx.about(ride)
    text = " ".join(text.split())
    if not text:
        return [staff.render("reply_msg_empty")]
    if len(text) > MSG_LIMIT:
        return [staff.render("reply_msg_too_long", limit=MSG_LIMIT)]
    if not dispatch.relay_to_participant(ctx.session, ctx.rt, ride, ctx.officer, text, now=ctx.now):
        return [staff.render("reply_msg_no_consent", ref=ride.ref)]
    ctx.echo("echo_msg", ride, ref=ride.ref)
    return [staff.render("reply_msg_sent", ref=ride.ref)]


def _call(ctx: Context, command: Command) -> list[str]:
    named = dispatch.by_ref(ctx.session, command.args[0]) if command.args else None
    if named is not None and named.kind == "callback" and named.is_open and ctx.officer.is_sergeant:
        return _call_back(ctx, named)
    ride, _, problem = _my_ride(ctx, command.args)
    if ride is None:
        return [problem]
    ctx.about(ride)
    if not dispatch.call_participant(ctx.session, ctx.rt, ride, ctx.officer, now=ctx.now):
        return [staff.render("reply_call_no_consent", ref=ride.ref)]
    ctx.echo("echo_call", ride, ref=ride.ref)
    if ride.kind == "callback":
        return [staff.render("reply_calling_back", ref=ride.ref, when=dispatch.when_of(ctx.rt, ride))]
    return [staff.render("reply_calling", ref=ride.ref)]


def _call_back(ctx: Context, request: Dispatch) -> list[str]:
    """A sergeant's CALL <ref> for a call-back: ring them, then bridge to the participant."""
    ctx.about(request)
    if not callbacks.call_back(ctx.session, ctx.rt, request, ctx.officer, now=ctx.now):
        return [staff.render("reply_call_no_consent", ref=request.ref)]
    ctx.echo("echo_call", request, ref=request.ref)
    return [staff.render("reply_calling_back", ref=request.ref, when=dispatch.when_of(ctx.rt, request))]


# -- duty ------------------------------------------------------------------------------------


def _duty(ctx: Context, command: Command) -> list[str]:
    on_duty = command.word == "ON"
    if not on_duty:
        dispatch.withdraw_offers_of(ctx.session, ctx.rt, ctx.officer, now=ctx.now)
    if ctx.officer.on_duty != on_duty:
        ctx.officer.on_duty = on_duty
        ctx.session.add(ctx.officer)
        ctx.echo("echo_duty", duty="on" if on_duty else "off")
    return [staff.render("reply_on" if on_duty else "reply_off")]


def _stopped(ctx: Context) -> list[str]:
    """Staff texted STOP: Twilio now blocks texts to them, so they cannot get offers."""
    dispatch.withdraw_offers_of(ctx.session, ctx.rt, ctx.officer, now=ctx.now)
    ctx.officer.on_duty = False
    ctx.session.add(ctx.officer)
    text = staff.render("staff_stopped", time=ctx.when, officer=ctx.officer.name)
    staff.alert_sergeants(ctx.session, ctx.rt, text, skip=ctx.officer.id)
    log.info("officer %s texted an opt-out word; off duty", ctx.officer.id)
    return []  # Twilio answers STOP itself


def _help_command(ctx: Context, command: Command) -> list[str]:
    return [_help(ctx.officer)]


# -- sergeant --------------------------------------------------------------------------------


def _open(ctx: Context, command: Command) -> list[str]:
    items = []
    for request in dispatch.open_requests(ctx.session):
        who = _holder(ctx.session, request)
        since = staff.local_time(request.created_at, ctx.rt.program.timezone)
        items.append(
            staff.render(
                "open_item",
                ref=request.ref,
                kind=staff.kind(request.kind),
                status=request.status,
                holder=who,
                since=since,
            )
        )
    if not items:
        return [staff.render("reply_open_none")]
    return [staff.render("reply_open", items="; ".join(items))[:1500]]


def _holder(session: Session, request: Dispatch) -> str:
    """Return " (name)" for who has or is being offered a request, else ""."""
    officer_id = request.officer_id
    if officer_id is None:
        officer_id = session.exec(
            select(Offer.officer_id).where(Offer.dispatch_id == request.id, Offer.status == "open")
        ).first()
    officer = session.get(Officer, officer_id) if officer_id else None
    return f" ({officer.name})" if officer else ""


def _roster(ctx: Context, command: Command) -> list[str]:
    people = [o for o in roster.everyone(ctx.session) if o.active]
    on = ", ".join(o.name for o in people if o.on_duty) or "nobody"
    off = ", ".join(o.name for o in people if not o.on_duty) or "nobody"
    return [staff.render("reply_roster", on_duty=on, off_duty=off)[:1500]]


def _assign(ctx: Context, command: Command) -> list[str]:
    words = command.args
    if len(words) < 2:
        return [staff.render("reply_assign_usage")]
    ref, name = words[0].upper(), " ".join(words[1:])
    target = dispatch.by_ref(ctx.session, ref)
    if target is None or not target.is_open:
        return [staff.render("reply_unknown_ref", ref=ref[:8])]
    found = roster.match(ctx.session, name)
    if not found:
        return [staff.render("reply_unknown_officer", name=name[:40])]
    if len(found) > 1:
        return [
            staff.render("reply_ambiguous_officer", name=name[:40], names=", ".join(o.name for o in found))
        ]
    officer = found[0]
    ctx.about(target)
    dispatch.assign(ctx.session, ctx.rt, target, officer, actor=dispatch.actor_of(ctx.officer), now=ctx.now)
    text = staff.render(
        "echo_assigned", ref=target.ref, sergeant=ctx.officer.name, officer=officer.name, time=ctx.when
    )
    staff.alert_sergeants(ctx.session, ctx.rt, text, dispatch=target, skip=ctx.officer.id)
    return [staff.render("reply_assigned", ref=target.ref, officer=officer.name)]


HANDLERS: dict[str, Callable[[Context, Command], list[str]]] = {
    "ACCEPT": _answer,
    "DECLINE": _answer,
    "ARRIVED": _arrived,
    "DONE": _done,
    "CANCEL": _cancel,
    "MSG": _msg,
    "CALL": _call,
    "ON": _duty,
    "OFF": _duty,
    "HELP": _help_command,
    "INFO": _help_command,
    "START": _help_command,
    "UNSTOP": _help_command,
    "OPEN": _open,
    "ROSTER": _roster,
    "ASSIGN": _assign,
}
SERGEANT_ONLY = frozenset({"OPEN", "ROSTER", "ASSIGN"})
