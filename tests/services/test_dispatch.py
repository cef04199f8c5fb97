"""Dispatch: from the participant's YES to DONE IN, offers with one-time codes, assign and close.

Runs on SQLite and PostgreSQL (the `app` fixture). Officers and participants text through the
signed webhook or the service (where a test needs its own clock); the worker is run by hand.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from hotline import create_app
from hotline.plumbing import timers
from hotline.plumbing.runtime import runtime
from hotline.services import dispatch
from models import Conversation, Dispatch, Officer, Timer
from tests.dispatch_helpers import (
    CHEN,
    OKAFOR,
    PLACE,
    SERGEANT,
    SMITH,
    add_roster,
    code_for,
    events,
    later,
    offers,
    request_ride,
    rows,
    run_worker,
    text,
    texts_to,
    the_dispatch,
)
from tests.support import PARTICIPANT, Twilio, hotline_config, sms_params, twiml_messages, unpaced


def test_happy_path_from_yes_to_done_in(twilio, rt, transport):
    ids = add_roster(rt)
    answer = request_ride(rt)
    assert "none has accepted yet" in answer[0]
    ride = the_dispatch(rt)
    assert (ride.status, ride.kind) == ("offered", "ride")
    assert len(texts_to(rt, SERGEANT)) == 1, "the sergeant is alerted at once"

    # Only the first officer in fair order is paged, with a code and a deadline.
    run_worker(rt)
    offer = [s for s in transport.sent if s["to"] == CHEN]
    assert len(offer) == 1 and f"ride {ride.ref}" in offer[0]["body"] and PLACE in offer[0]["body"]
    assert not [s for s in transport.sent if s["to"] in (OKAFOR, SMITH)]
    assert PARTICIPANT not in offer[0]["body"]

    reply = twilio.text(f"ACCEPT {code_for(rt, CHEN)}", sender=CHEN)
    assert f"{ride.ref} is yours" in reply[0] and PLACE in reply[0]
    assert twilio.text("ARRIVED", sender=CHEN)[0].startswith("Noted: you arrived")
    done = twilio.text("DONE IN", sender=CHEN)
    assert done == [f"{ride.ref} closed: IN. Thank you."]
    run_worker(rt)

    closed = the_dispatch(rt)
    assert (closed.status, closed.outcome, closed.officer_id) == ("completed", "in", ids["Ofc. Chen"])
    assert closed.contact_sealed is None, "the contact number is erased at close"
    to_participant = [s["body"] for s in transport.sent if s["to"] == PARTICIPANT]
    assert len(to_participant) == 3
    assert "said yes and is on the way" in to_participant[0]
    assert "arriving now" in to_participant[1]
    assert "is closed" in to_participant[2]
    for body in to_participant:  # updates nobody asked for: a lock screen shows no police words
        assert body.startswith("Update on your request ") and "officer" not in body[:40].lower()
    to_sergeant = [s["body"] for s in transport.sent if s["to"] == SERGEANT]
    assert any("Ofc. Chen accepted" in b for b in to_sergeant)
    assert any("Ofc. Chen arrived" in b for b in to_sergeant)
    assert any("outcome: in" in b for b in to_sergeant)
    officer = f"officer:{ids['Ofc. Chen']}"
    assert [kind for kind, _ in events(rt)] == [
        "requested",
        "offered",
        "accepted",
        "arrived",
        "completed",
    ]
    assert events(rt)[2:] == [("accepted", officer), ("arrived", officer), ("completed", officer)]
    # The participant's STATUS now tells the truth.
    assert "is closed" in twilio.text("STATUS")[0]


def test_spanish_participant_is_told_in_spanish(rt, transport):
    add_roster(rt, officers=("Ofc. Chen",))
    text(rt, "hola")
    for body in ["2", "si", "si", "no", "no", "no", "HQ", "si"]:
        text(rt, body)
    text(rt, "si")
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    run_worker(rt)
    (update,) = [s["body"] for s in transport.sent if s["to"] == PARTICIPANT]
    assert update.startswith("Aviso sobre su solicitud ")
    assert "alguien la ha aceptado y va en camino" in update


def test_without_consent_the_participant_gets_no_texts(rt, transport):
    add_roster(rt, officers=("Ofc. Chen",))
    request_ride(rt, consent="no")
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    text(rt, "DONE OUT", CHEN)
    run_worker(rt)
    assert [s for s in transport.sent if s["to"] == PARTICIPANT] == []
    assert the_dispatch(rt).status == "completed"


def test_fair_order_pages_the_least_recently_assigned_first(rt):
    ids = add_roster(rt)
    with rt.db.unit_of_work() as session:
        session.get(Officer, ids["Ofc. Chen"]).last_assigned_at = later(-60)
        session.get(Officer, ids["Ofc. Okafor"]).last_assigned_at = later(-120)
        session.commit()
    request_ride(rt)
    # Smith was never assigned, then Okafor longest ago.
    assert [o.officer_id for o in offers(rt)] == [ids["Ofc. Smith"]]
    text(rt, f"DECLINE {code_for(rt, SMITH)}", SMITH)
    assert [o.officer_id for o in offers(rt)] == [ids["Ofc. Smith"], ids["Ofc. Okafor"]]


def test_decline_goes_to_the_next_officer_and_a_code_works_once(rt):
    ids = add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)
    assert text(rt, f"DECLINE {code}", CHEN)[0].startswith("Passed on")
    assert text(rt, f"ACCEPT {code}", CHEN) == [f"That code was already used for {the_dispatch(rt).ref}."]
    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "declined"),
        (ids["Ofc. Okafor"], "open"),
    ]
    assert any("Ofc. Chen declined" in b for b in texts_to(rt, SERGEANT))


def test_a_code_is_bound_to_its_officer(rt):
    add_roster(rt)
    request_ride(rt)
    chens_code = code_for(rt, CHEN)
    assert text(rt, f"ACCEPT {chens_code}", OKAFOR)[0].startswith("That code is not valid")
    assert the_dispatch(rt).status == "offered"


def test_late_accept_after_another_officer_won_is_told_taken(rt):
    ids = add_roster(rt)
    request_ride(rt)
    chens_code = code_for(rt, CHEN)
    run_worker(rt, now=later(6))  # Chen's deadline passes: Okafor gets it
    assert [o.status for o in offers(rt)] == ["expired", "open"]
    assert text(rt, f"ACCEPT {code_for(rt, OKAFOR)}", OKAFOR)[0].startswith(
        f"SAFE PASSAGE {the_dispatch(rt).ref}"
    )

    late = text(rt, f"ACCEPT {chens_code}", CHEN)

    assert late == [f"{the_dispatch(rt).ref} is already taken by another officer. Nothing to do."]
    assert the_dispatch(rt).officer_id == ids["Ofc. Okafor"]


def test_an_expired_code_is_refused_and_the_ride_moves_on_at_once(rt):
    ids = add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)

    # The worker has not fired the deadline yet; the late ACCEPT does its work.
    reply = text(rt, f"ACCEPT {code}", CHEN, now=later(5.5))

    assert reply[0].startswith("That code has expired")
    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "expired"),
        (ids["Ofc. Okafor"], "open"),
    ]
    run_worker(rt, now=later(6))  # the timer finds the offer answered: nothing doubles
    assert len(offers(rt)) == 2


def test_twilio_retrying_an_accept_changes_things_once(twilio, rt):
    add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)
    first = twilio.text(f"ACCEPT {code}", sender=CHEN, sid="SM" + "a" * 32)
    again = twilio.text(f"ACCEPT {code}", sender=CHEN, sid="SM" + "a" * 32)
    assert first == again
    assert [kind for kind, _ in events(rt)].count("accepted") == 1
    assert len([b for b in texts_to(rt, SERGEANT) if "accepted" in b]) == 1
    # A fresh ACCEPT (a new SID) is not an error either.
    assert twilio.text(f"ACCEPT {code}", sender=CHEN)[0] == f"{the_dispatch(rt).ref} is already yours."


def test_once_accepted_paging_stops_for_everyone(rt, transport):
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    run_worker(rt, now=later(60))
    assert not [s for s in transport.sent if s["to"] in (OKAFOR, SMITH)]
    with rt.db.reading() as session:
        assert {t.status for t in session.exec(select(Timer)).all()} == {"cancelled"}


def test_assign_withdraws_the_open_offer_and_tells_everyone(rt, transport):
    ids = add_roster(rt)
    request_ride(rt)
    run_worker(rt)  # Chen's offer goes out
    with rt.db.unit_of_work() as session:
        ride = session.exec(select(Dispatch)).one()
        okafor = session.get(Officer, ids["Ofc. Okafor"])
        dispatch.assign(session, rt, ride, okafor, actor="user:rivera")
        session.commit()
    run_worker(rt, now=later(30))

    ride = the_dispatch(rt)
    assert (ride.status, ride.officer_id) == ("accepted", ids["Ofc. Okafor"])
    assert [o.status for o in offers(rt)] == ["withdrawn"]
    assert "taken by another officer" in [s for s in transport.sent if s["to"] == CHEN][-1]["body"]
    assert (
        f"{ride.ref} is yours (given by rivera" in [s for s in transport.sent if s["to"] == OKAFOR][0]["body"]
    )
    assert "on the way" in [s for s in transport.sent if s["to"] == PARTICIPANT][0]["body"]
    assert not [s for s in transport.sent if s["to"] == SMITH], "paging stopped"
    assert ("assigned", "user:rivera") in events(rt)


def test_reassigning_tells_the_first_officer_to_stand_down(rt):
    ids = add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    reply = text(rt, f"ASSIGN {the_dispatch(rt).ref} okafor", SERGEANT)
    assert reply == [
        f"{the_dispatch(rt).ref} is now assigned to Ofc. Okafor; they and the participant are told."
    ]
    assert "reassigned" in texts_to(rt, CHEN)[-1]
    assert the_dispatch(rt).officer_id == ids["Ofc. Okafor"]


def test_assign_refuses_a_closed_request(rt):
    ids = add_roster(rt)
    request_ride(rt)
    text(rt, "CANCEL RIDE")
    with rt.db.unit_of_work() as session:
        ride = session.exec(select(Dispatch)).one()
        with pytest.raises(dispatch.DispatchError):
            dispatch.assign(session, rt, ride, session.get(Officer, ids["Ofc. Chen"]), actor="user:x")


def test_participant_cancelling_stops_paging_and_tells_the_officer(rt, transport):
    add_roster(rt)
    request_ride(rt)
    run_worker(rt)  # the offer reached Chen
    assert "is cancelled" in text(rt, "CANCEL RIDE")[0]
    run_worker(rt, now=later(30))

    assert [o.status for o in offers(rt)] == ["withdrawn"]
    assert "was cancelled" in [s for s in transport.sent if s["to"] == CHEN][-1]["body"]
    assert not [s for s in transport.sent if s["to"] in (OKAFOR, SMITH)]
    assert [s for s in transport.sent if s["to"] == PARTICIPANT] == [], "they cancelled: no echo to them"
    assert the_dispatch(rt).contact_sealed is None


def test_an_offer_not_yet_sent_is_never_sent_once_taken(rt, transport):
    add_roster(rt)
    request_ride(rt)
    text(rt, "CANCEL RIDE")  # before the worker ran: Chen's offer is still queued
    run_worker(rt)
    assert [s for s in transport.sent if s["to"] == CHEN] == []
    assert [r.status for r in rows(rt, purpose="offer")] == ["cancelled"]


def test_done_needs_an_outcome(rt):
    add_roster(rt, officers=("Ofc. Chen",))
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    assert text(rt, "DONE", CHEN)[0].startswith("Write the outcome")
    assert text(rt, "done refused", CHEN)[0].endswith("closed: REFUSED. Thank you.")
    assert (the_dispatch(rt).status, the_dispatch(rt).outcome) == ("completed", "refused")


def test_callback_requests_go_to_the_sergeant_not_to_offers(rt):
    ids = add_roster(rt)
    text(rt, "hi")
    assert "Is it safe to call" in text(rt, "3")[0]
    assert "call you back" in text(rt, "after 5pm")[0]
    ride = the_dispatch(rt)
    assert (ride.kind, ride.status) == ("callback", "waiting")
    assert offers(rt) == []
    text(rt, f"ASSIGN {ride.ref} Chen", SERGEANT)
    assert "call-back" in texts_to(rt, CHEN)[-1] and "CALL" in texts_to(rt, CHEN)[-1]
    assert "after 5pm" in texts_to(rt, CHEN)[-1]
    assert the_dispatch(rt).officer_id == ids["Ofc. Chen"]


def test_deadline_timer_after_the_request_closed_does_nothing(rt):
    add_roster(rt)
    request_ride(rt)
    with rt.db.unit_of_work() as session:
        timer = session.exec(select(Timer)).one()
        timer.status = "pending"  # as if close() had not cancelled it (a racing deadline)
        ride = session.exec(select(Dispatch)).one()
        ride.status, ride.closed_at = "cancelled", later(0)
        session.commit()
    run_worker(rt, now=later(6))
    assert len(offers(rt)) == 1


def test_worker_handlers_are_registered():
    assert {dispatch.OFFER_DEADLINE, timers.UNDELIVERABLE} <= set(timers.HANDLERS)


def test_assigning_the_officer_who_holds_the_offer_does_not_tell_them_it_is_taken(rt):
    add_roster(rt)
    request_ride(rt)
    run_worker(rt)  # Chen's offer went out
    ref = the_dispatch(rt).ref
    text(rt, f"ASSIGN {ref} Chen", SERGEANT)
    to_chen = texts_to(rt, CHEN)
    assert not any("taken by another officer" in body for body in to_chen)
    assert f"{ref} is yours" in to_chen[-1]
    assert [o.status for o in offers(rt)] == ["withdrawn"]


def test_logs_carry_no_number_place_or_relayed_text(rt, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    text(rt, "MSG canary-words-from-the-officer", CHEN)
    text(rt, "canary words from the participant")
    text(rt, "CALL", CHEN)
    text(rt, "DONE IN", CHEN)
    run_worker(rt)
    secrets_ = ("8165550142", "8165550101", "8165550100", "QuikTrip", "canary")
    for record in caplog.records:
        message = record.getMessage()
        assert not any(secret in message for secret in secrets_), message


def test_every_staff_text_is_defined_and_lock_screen_safe():
    import re
    from pathlib import Path

    from hotline.plumbing import staff

    used = set()
    for path in (Path(__file__).resolve().parents[2] / "hotline").rglob("*.py"):
        used |= set(re.findall(r'staff\.render\(\s*"(\w+)"', path.read_text()))
    used |= {"next_officer", "no_next_officer", "still_assigned"} | {
        f"reply_{k}" for k in ("taken", "closed", "expired", "used")
    }
    assert used <= set(staff.texts()), used - set(staff.texts())
    for key, body in staff.texts().items():
        assert not re.search(r"drug|overdos|narcot|heroin|fentanyl|opioid", body.split("\n")[0], re.I), key


# -- the staff number ------------------------------------------------------------------------------

STAFF_LINE = "+18165550199"


@pytest.fixture
def two_numbers(database_url, transport):
    """The hotline with a staff number (TWILIO_STAFF_NUMBER) beside the hotline number."""
    app = create_app(
        hotline_config(database_url, TESTING=True, TWILIO_STAFF_NUMBER=STAFF_LINE),
        transport=transport,
        environ={},
    )
    rt = runtime(app)
    rt.program = dataclasses.replace(rt.program, sending=unpaced())
    rt.db.create_all()
    yield app
    rt.db.dispose()


def staff_text(client, body: str, sender: str) -> list[str]:
    """Text the staff number through the signed webhook; return the texts of its answer."""
    response = Twilio(client).post("/twilio/sms", sms_params(body, sender=sender, To=STAFF_LINE))
    assert response.status_code == 200
    return twiml_messages(response.get_data(as_text=True))


def test_with_a_staff_number_staff_hear_from_it_and_participants_from_the_hotline(two_numbers, transport):
    rt = runtime(two_numbers)
    client = two_numbers.test_client()
    add_roster(rt)
    request_ride(rt)
    run_worker(rt)
    reply = staff_text(client, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    assert f"{the_dispatch(rt).ref} is yours" in reply[0], "officers text the staff number"
    run_worker(rt)

    senders = {(s["to"], s["sender"]) for s in transport.sent}
    assert (CHEN, "staff") in senders, "the offer"
    assert (SERGEANT, "staff") in senders, "the sergeant's alert and notices"
    assert (PARTICIPANT, "main") in senders, "the participant's update"
    assert {sender for to, sender in senders if to in (CHEN, SERGEANT)} == {"staff"}
    assert {sender for to, sender in senders if to == PARTICIPANT} == {"main"}


@pytest.mark.parametrize(
    "body, opening",
    [
        ("I need help", "If this is an emergency, call 911 now"),
        ("necesito ayuda por favor", "Si es una emergencia"),
    ],
)
def test_someone_not_on_the_roster_texting_the_staff_number_is_sent_to_the_hotline(
    two_numbers, body, opening
):
    rt = runtime(two_numbers)
    add_roster(rt)
    client = two_numbers.test_client()

    (answer,) = staff_text(client, body, PARTICIPANT)

    assert answer.startswith(opening), "911 first"
    assert "(816) 555-0000" in answer, "then the hotline number"
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).first() is None, "no conversation on the staff line"
        assert session.exec(select(Dispatch)).first() is None


@pytest.mark.parametrize(
    "body, first",
    [
        ("my friend is not breathing", "Call 911 now."),
        ("i want to kill myself", "Please call or text"),
        ("mi amigo no respira", "Llame al 911"),
    ],
)
def test_danger_words_texted_to_the_staff_number_get_what_the_hotline_would_say_first(
    two_numbers, body, first
):
    rt = runtime(two_numbers)
    add_roster(rt)

    answers = staff_text(two_numbers.test_client(), body, PARTICIPANT)

    assert len(answers) == 2 and answers[0].startswith(first), answers
    assert "(816) 555-0000" in answers[1], "and then the way to the hotline"


def test_without_a_staff_number_staff_texts_go_from_the_hotline_number(rt, transport):
    add_roster(rt)
    request_ride(rt)
    run_worker(rt)

    assert transport.sent and {s["sender"] for s in transport.sent} == {"main"}
