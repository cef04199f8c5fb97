"""Escalation: deadlines, declines and unreachable officers move a ride on, to the sergeant at the end.

Timers are rows fired by the worker; a worker killed in the middle resumes without skipping or
repeating a step (real processes, SQLite and PostgreSQL). Twilio's errors are scripted.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from datetime import timedelta

import pytest
from sqlmodel import select

from hotline import create_app
from hotline.plumbing import jobs, timers
from hotline.plumbing.runtime import runtime
from hotline.plumbing.transport import FINAL, RETRYABLE, TransportError
from models import Conversation, Officer, OutboxMessage, Timer
from models.clock import utcnow
from tests.dispatch_helpers import (
    CHEN,
    OKAFOR,
    SERGEANT,
    SMITH,
    ScriptedTransport,
    add_roster,
    code_for,
    events,
    offers,
    request_ride,
    rows,
    run_worker,
    text,
    texts_to,
    the_dispatch,
)
from tests.support import PARTICIPANT, hotline_config, unpaced

FORK = multiprocessing.get_context("fork")


def test_escalation_through_three_officers_to_the_sergeant(rt, transport):
    ids = add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)
    ref = the_dispatch(rt).ref

    run_worker(rt, now=t0 + timedelta(minutes=5))  # Chen does not answer by the deadline
    assert text(rt, f"DECLINE {code_for(rt, OKAFOR)}", OKAFOR, now=t0 + timedelta(minutes=6))[0].startswith(
        "Passed on"
    )
    assert the_dispatch(rt).status == "offered"
    run_worker(rt, now=t0 + timedelta(minutes=11, seconds=1))  # Smith does not answer either

    ride = the_dispatch(rt)
    assert ride.status == "no_officer" and ride.is_open
    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "expired"),
        (ids["Ofc. Okafor"], "declined"),
        (ids["Ofc. Smith"], "expired"),
    ]
    offered_to = [s["to"] for s in transport.sent if "Reply ACCEPT" in s["body"]]
    assert offered_to == [CHEN, OKAFOR, SMITH], "one at a time, each once"
    nobody = [s["body"] for s in transport.sent if s["to"] == SERGEANT and "nobody accepted" in s["body"]]
    assert len(nobody) == 1 and f"ASSIGN {ref}" in nobody[0]
    (fallback,) = [s["body"] for s in transport.sent if s["to"] == PARTICIPANT]
    assert "Nobody is free to come" in fallback and "24/7" in fallback
    assert "Nobody is free to come" in text(rt, "STATUS")[0]
    assert [k for k, _ in events(rt)] == [
        "requested",
        "offered",
        "offer_expired",
        "offered",
        "declined",
        "offered",
        "offer_expired",
        "no_officer",
    ]

    # The sergeant steps in: the ride is given, the participant told the truth at last.
    assert "assigned to Ofc. Okafor" in text(rt, f"ASSIGN {ref} Okafor", SERGEANT)[0]
    run_worker(rt, now=t0 + timedelta(minutes=12))
    assert "on the way" in [s["body"] for s in transport.sent if s["to"] == PARTICIPANT][-1]
    assert the_dispatch(rt).officer_id == ids["Ofc. Okafor"]


def test_nobody_on_duty_tells_the_sergeant_at_once(rt):
    add_roster(rt, officers=())
    answer = request_ride(rt)
    assert the_dispatch(rt).status == "no_officer"
    assert any("no officer is on duty" in b for b in texts_to(rt, SERGEANT))
    assert answer == [rt.catalog.render("request.sent.nobody", "en")], "said first, in the answer"
    assert texts_to(rt, PARTICIPANT) == [], "not said again by a later text"


@pytest.mark.parametrize("code", [30006, 21610, 21211, 21614])
def test_an_offer_that_cannot_reach_its_officer_escalates_at_once(rt, code):
    rt.transport = transport = ScriptedTransport({CHEN: [TransportError(FINAL, code=code, http_status=400)]})
    ids = add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)

    run_worker(rt, now=t0 + timedelta(seconds=30))  # well before Chen's deadline

    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "undeliverable"),
        (ids["Ofc. Okafor"], "open"),
    ]
    assert [s["to"] for s in transport.sent if "Reply ACCEPT" in s["body"]] == [OKAFOR]
    unreachable = [
        s["body"] for s in transport.sent if s["to"] == SERGEANT and "could not reach" in s["body"]
    ]
    assert len(unreachable) == 1 and str(code) in unreachable[0] and "next officer" in unreachable[0]
    assert len(transport.attempts) == len(transport.sent) + 1, "a final error is never retried"


@pytest.mark.parametrize(
    "error",
    [TransportError(RETRYABLE, code=20429, http_status=429), TransportError(RETRYABLE, http_status=500)],
    ids=["429", "500"],
)
def test_a_retryable_error_on_an_offer_retries_without_escalating(rt, error):
    rt.transport = transport = ScriptedTransport({CHEN: [error]})
    add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)

    run_worker(rt, now=t0 + timedelta(seconds=30))
    assert [s["to"] for s in transport.sent if "Reply ACCEPT" in s["body"]] == []
    run_worker(rt, now=t0 + timedelta(seconds=33))  # after the back-off (at most 2 s)

    assert [s["to"] for s in transport.sent if "Reply ACCEPT" in s["body"]] == [CHEN]
    assert [o.status for o in offers(rt)] == ["open"]
    assert [r.status for r in rows(rt, purpose="offer")] == ["sent"]


def test_21610_on_a_participant_update_opts_them_out_and_the_ride_goes_on(rt):
    rt.transport = transport = ScriptedTransport(
        {PARTICIPANT: [TransportError(FINAL, code=21610, http_status=400)]}
    )
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    run_worker(rt)
    text(rt, "ARRIVED", CHEN)
    run_worker(rt)

    assert [s for s in transport.sent if s["to"] == PARTICIPANT] == []
    assert len([a for a in transport.attempts if a["to"] == PARTICIPANT]) == 1
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().opted_out
    assert the_dispatch(rt).status == "arriving"
    assert text(rt, "I'm here", CHEN)  # the officer is still served


def test_an_undelivered_status_callback_for_an_offer_escalates(twilio, rt):
    ids = add_roster(rt)
    request_ride(rt)
    run_worker(rt)
    (offer_row,) = [r for r in rows(rt, purpose="offer")]
    with rt.db.reading() as session:
        sid = session.get(OutboxMessage, offer_row.id).twilio_sid
    params = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": "AC" + "1" * 32,
    }

    assert twilio.post("/twilio/status", params).status_code == 204
    assert twilio.post("/twilio/status", params).status_code == 204  # Twilio repeats itself

    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "undeliverable"),
        (ids["Ofc. Okafor"], "open"),
    ]
    assert len([b for b in texts_to(rt, SERGEANT) if "could not reach" in b]) == 1


def test_officer_going_off_duty_passes_the_offer_on(rt):
    ids = add_roster(rt)
    request_ride(rt)
    assert text(rt, "OFF", CHEN)[0].startswith("You are OFF duty")
    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "withdrawn"),
        (ids["Ofc. Okafor"], "open"),
    ]
    assert any("Ofc. Chen went off duty" in b for b in texts_to(rt, SERGEANT))


def test_going_off_duty_with_a_backlog_of_offers_leaves_the_rest_to_the_worker(rt, monkeypatch):
    from hotline.services.dispatch import offers as offering

    ids = add_roster(rt)
    monkeypatch.setattr(offering, "REOFFER_AT_ONCE", 2)
    text(rt, "OFF", OKAFOR), text(rt, "OFF", SMITH)  # Chen alone on duty: every offer is his
    for n in range(5):
        request_ride(rt, sender=f"+1816555{3000 + n}")
    assert [(o.officer_id, o.status) for o in offers(rt)] == [(ids["Ofc. Chen"], "open")] * 5
    text(rt, "ON", OKAFOR)
    assert text(rt, "OFF", CHEN)[0].startswith("You are OFF duty")
    open_now = [o.officer_id for o in offers(rt) if o.status == "open"]
    assert open_now == [ids["Ofc. Okafor"]] * 2, "the first rides are offered on at once"
    run_worker(rt)
    open_now = [o.officer_id for o in offers(rt) if o.status == "open"]
    assert open_now == [ids["Ofc. Okafor"]] * 5, "the worker offers the rest on"
    run_worker(rt)
    assert len(offers(rt)) == 10, "each ride offered on once"


# -- a worker killed mid-escalation ---------------------------------------------------------------


def _die_inside_the_deadline_handler(url, when):
    """A worker process that fires the deadline, writes the next offer, and dies before committing."""
    app = create_app(hotline_config(url), environ={})
    rt = runtime(app)
    real = timers.HANDLERS["offer_deadline"]

    def fire_then_die(session, rt, timer):
        real(session, rt, timer)
        session.flush()  # the next offer and its text are written, not committed
        os._exit(9)

    jobs.run_once(rt, now=when, handlers={"offer_deadline": fire_then_die})


def _die_between_claim_and_send(url, when):
    """A worker process that claims every due row and dies before sending any."""
    app = create_app(hotline_config(url), environ={})
    rt = runtime(app)
    rt.program = dataclasses.replace(rt.program, sending=unpaced())
    while jobs.claim_due_message(rt, now=when) is not None:
        pass
    os._exit(9)


def _run_in_a_process(target, *args) -> int:
    process = FORK.Process(target=target, args=args)
    process.start()
    process.join(60)
    return process.exitcode


@pytest.mark.slow
def test_a_worker_killed_mid_escalation_resumes_without_skipping_or_repeating(rt, database_url, transport):
    add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)
    run_worker(rt, now=t0 + timedelta(seconds=30))  # Chen's offer is out
    deadline = t0 + timedelta(minutes=5)

    assert _run_in_a_process(_die_inside_the_deadline_handler, database_url, deadline) == 9

    # Nothing of the dead pass survived: the deadline is still due, nobody else was offered.
    assert [o.status for o in offers(rt)] == ["open"]
    with rt.db.reading() as session:
        assert [t.status for t in session.exec(select(Timer)).all()] == ["pending"]

    run_worker(rt, now=deadline)  # a new worker picks it up
    run_worker(rt, now=deadline + timedelta(seconds=30))

    assert [o.status for o in offers(rt)] == ["expired", "open"]
    assert [s["to"] for s in transport.sent if "Reply ACCEPT" in s["body"]] == [CHEN, OKAFOR]
    assert [k for k, _ in events(rt)].count("offered") == 2


@pytest.mark.slow
def test_a_worker_killed_between_claim_and_send_loses_nothing(rt, database_url, transport):
    """Staff texts go out again after the lease (at least once); a participant's is never doubled."""
    add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN, now=t0)  # queues the participant's update too

    claimed_at = t0 + timedelta(seconds=30)  # every row is due by then, however slow this machine
    assert _run_in_a_process(_die_between_claim_and_send, database_url, claimed_at) == 9
    assert transport.sent == []
    after_lease = claimed_at + timedelta(seconds=jobs.LEASE_SECONDS + 2)
    run_worker(rt, now=after_lease)
    run_worker(rt, now=after_lease + timedelta(hours=1))

    to_chen = [s["body"] for s in transport.sent if s["to"] == CHEN]
    assert len([b for b in to_chen if "Reply ACCEPT" in b]) == 1, "the page went out, once"
    assert [s for s in transport.sent if s["to"] == PARTICIPANT] == [], "at most once for the participant"
    (update,) = rows(rt, audience="participant")
    assert update.status == "failed"
    with rt.db.reading() as session:
        assert session.get(OutboxMessage, update.id).error_code == "ambiguous"


def test_a_deadline_fired_twice_offers_once(rt):
    """Two workers racing for one timer: SKIP LOCKED plus the offer's status make it fire once."""
    add_roster(rt)
    t0 = utcnow()
    request_ride(rt, now=t0)
    deadline = t0 + timedelta(minutes=5)
    run_worker(rt, now=deadline)
    with rt.db.unit_of_work() as session:
        for timer in session.exec(select(Timer)).all():
            if timer.fired_at is not None:
                timer.status = "pending"  # as if the first firing's "done" were lost
        session.commit()
    run_worker(rt, now=deadline)
    assert [o.status for o in offers(rt)] == ["expired", "open"]


# -- shifts ----------------------------------------------------------------------------------------


def test_a_shift_puts_an_officer_on_and_off_duty_in_local_time(rt):
    from hotline.services import roster

    add_roster(rt, officers=())
    # 2026-01-15 is winter: America/Chicago is UTC-6. Shift 22:00-06:00 local.
    start = utcnow().replace(year=2026, month=1, day=15, hour=12, minute=0, second=0, microsecond=0)
    with rt.db.unit_of_work() as session:
        officer = roster.add_officer(
            session, rt, name="Ofc. Night", phone=SMITH, shift="22:00-06:00", now=start
        )
        session.commit()
        officer_id = officer.id

    def on_duty(when):
        run_worker(rt, now=when)
        with rt.db.reading() as session:
            return session.get(Officer, officer_id).on_duty

    assert on_duty(start) is False
    assert on_duty(start.replace(hour=23, minute=59)) is False  # 17:59 local
    assert on_duty(start.replace(day=16, hour=4, minute=0)) is True  # 22:00 local
    assert on_duty(start.replace(day=16, hour=11, minute=59)) is True  # 05:59 local
    assert on_duty(start.replace(day=16, hour=12, minute=0)) is False  # 06:00 local
    with rt.db.reading() as session:
        pending = session.exec(select(Timer).where(Timer.status == "pending")).all()
    assert [t.due_at for t in pending] == [start.replace(day=17, hour=4)], "the next start is scheduled"


def test_a_bad_shift_is_refused(rt):
    from hotline.services import roster

    for bad in ("22-06", "25:00-06:00", "08:00-08:00", "night"):
        with pytest.raises(roster.RosterError):
            roster.parse_shift(bad)
    assert roster.parse_shift(" 7:30 - 16:00 ") == ("07:30", "16:00")


def test_shifts_from_the_command_line(rt, database_url, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from hotline import cli
    from tests.support import hotline_config

    for name, value in hotline_config(database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    def run(*args):
        return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)

    added = run("officers", "add", "--name", "Ofc. Night", "--phone", SMITH, "--shift", "22:00-06:00")
    assert added.exit_code == 0, added.output
    assert run("officers", "add", "--name", "X", "--phone", OKAFOR, "--shift", "late").exit_code != 0
    changed = run("officers", "shift", SMITH, "07:00-15:00")
    assert changed.exit_code == 0 and "07:00-15:00" in changed.output
    with rt.db.reading() as session:
        pending = session.exec(select(Timer).where(Timer.status == "pending")).all()
    assert len(pending) == 1, "the old shift's timer is cancelled"
    assert run("officers", "shift", SMITH, "none").exit_code == 0
    with rt.db.reading() as session:
        assert session.exec(select(Timer).where(Timer.status == "pending")).all() == []
