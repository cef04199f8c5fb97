"""The moments that matter, through the service (SQLite and PostgreSQL): danger mid-ride reaches
the officer, DELETE with a ride asks first, a changed place reaches the officer, call-backs end
to end, the participant's language on offers, and a free officer before a busy one."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ElementTree

from sqlalchemy import text as sql
from sqlmodel import select

from hotline.services import roster
from models import Dispatch, Offer
from tests.dashboard_support import add_accounts, csrf_from, sign_in
from tests.dispatch_helpers import (
    CHEN,
    OKAFOR,
    SERGEANT,
    SMITH,
    add_roster,
    code_for,
    request_ride,
    run_worker,
    text,
    texts_to,
    the_dispatch,
)
from tests.support import HOTLINE_NUMBER, PARTICIPANT

OTHER = "+18165550177"


def accepted_by_chen(rt) -> Dispatch:
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    return the_dispatch(rt)


# ---- 1. danger words mid-ride ---------------------------------------------------------------


def test_an_emergency_mid_ride_reaches_the_officer_on_the_way_with_the_ref(rt):
    ride = accepted_by_chen(rt)
    answer = text(rt, "my friend here just ODd hes not breathing")
    assert "911" in answer[0] and ride.ref in answer[1]
    (to_chen,) = [b for b in texts_to(rt, CHEN) if "alert" in b]
    assert ride.ref in to_chen and "911" in to_chen and "Go now" in to_chen
    assert "participant writes" not in to_chen, "an alert of its own, not a relayed text"
    (to_sergeant,) = [b for b in texts_to(rt, SERGEANT) if "emergency words" in b]
    assert ride.ref in to_sergeant and "Ofc. Chen told too" in to_sergeant
    assert not [b for b in texts_to(rt, OKAFOR) if "alert" in b]


def test_an_emergency_while_a_ride_is_offered_reaches_the_officer_holding_the_offer(rt):
    add_roster(rt)
    request_ride(rt)
    assert the_dispatch(rt).status == "offered"
    text(rt, "overdose")
    (to_chen,) = [b for b in texts_to(rt, CHEN) if "alert" in b]
    assert the_dispatch(rt).ref in to_chen and "ACCEPT" in to_chen
    assert any(
        the_dispatch(rt).ref in b and "No officer" not in b for b in texts_to(rt, SERGEANT) if "alert" in b
    )


def test_suicidal_words_mid_ride_tell_the_officer_and_the_sergeant_with_the_ref(rt):
    ride = accepted_by_chen(rt)
    answer = text(rt, "i want to kill myself")
    assert "988" in answer[0] and ride.ref in answer[1]
    assert any(ride.ref in b and "988" in b for b in texts_to(rt, CHEN) if "alert" in b)
    assert any(ride.ref in b and "ending their life" in b for b in texts_to(rt, SERGEANT))
    again = text(rt, "no")
    assert "participant writes" not in " ".join(texts_to(rt, CHEN)), "the check-in answer is not relayed"
    assert "988" in again[0]


def test_without_a_request_the_sergeant_alert_is_as_before(rt):
    add_roster(rt)
    text(rt, "hi")
    text(rt, "i want to kill myself")
    (alert,) = [b for b in texts_to(rt, SERGEANT) if "alert" in b]
    assert "ending their life" in alert and "#" in alert


# ---- 4. DELETE with a ride ------------------------------------------------------------------


def test_delete_with_a_ride_asks_first_anything_else_keeps_it_yes_cancels_it(rt):
    ride = accepted_by_chen(rt)
    asked = text(rt, "DELETE")
    assert ride.ref in asked[0] and "YES" in asked[0]
    assert "nothing was erased" in text(rt, "wait no")[0]
    assert the_dispatch(rt).status == "accepted"
    assert not [b for b in texts_to(rt, CHEN) if "no longer need to go" in b]
    text(rt, "BORRAR")
    done = text(rt, "SI")
    assert done == [rt.catalog.render("deleted", "es")]
    assert the_dispatch(rt).status == "cancelled"
    assert [b for b in texts_to(rt, CHEN) if "no longer need to go" in b]


# ---- 5. changed plans -----------------------------------------------------------------------


def test_a_new_place_before_anyone_accepts_reaches_the_officer_holding_the_offer(rt):
    add_roster(rt)
    request_ride(rt)
    asked = text(rt, "actually im at the walgreens across the street now")
    assert "the walgreens across the street" in asked[0]
    assert "done" in text(rt, "yes")[0].lower()
    ride = the_dispatch(rt)
    assert rt.vault.open(ride.place_sealed) == "the walgreens across the street"
    (moved,) = [b for b in texts_to(rt, CHEN) if "moved" in b]
    assert ride.ref in moved and "the walgreens across the street" in moved
    assert any("changed the meeting place" in b for b in texts_to(rt, SERGEANT))
    accepted = text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    assert "the walgreens across the street" in accepted[0], "the officer is sent to the new place"
    with rt.db.reading() as session:
        raw = session.execute(sql("SELECT place_sealed FROM dispatch")).scalar()
    assert "walgreens" not in raw, "sealed, never plain"


def test_changed_my_mind_asks_then_cancels(rt):
    add_roster(rt)
    request_ride(rt)
    assert the_dispatch(rt).ref in text(rt, "nevermind")[0]
    text(rt, "no")
    assert the_dispatch(rt).is_open
    text(rt, "ya no quiero")
    text(rt, "si")
    assert the_dispatch(rt).status == "cancelled"


# ---- 6. call-backs --------------------------------------------------------------------------


def bridge_form(dispatch_id: int, to: str, call_sid: str) -> dict:
    return {
        "AccountSid": "AC" + "1" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "From": HOTLINE_NUMBER,
        "To": to,
    }


def test_a_callback_end_to_end_by_text(twilio, rt, transport):
    add_roster(rt)
    text(rt, "hi")
    assert "safe to call" in text(rt, "3")[0]
    assert "call you back" in text(rt, "after 5pm")[0]
    request = the_dispatch(rt)
    assert (request.kind, request.status) == ("callback", "waiting")
    (alert,) = [b for b in texts_to(rt, SERGEANT) if request.ref in b]
    assert "after 5pm" in alert and f"CALL {request.ref}" in alert and "ride" not in alert
    with rt.db.reading() as session:
        raw = " ".join(str(v) for v in session.execute(sql("SELECT * FROM dispatch")).one())
    assert "after 5pm" not in raw, "sealed like the place"
    status = text(rt, "STATUS")[0]
    assert request.ref in status and "ride" not in status.lower()

    reply = text(rt, f"CALL {request.ref}", SERGEANT)
    assert reply[0].startswith("Calling you now") and "after 5pm" in reply[0]
    run_worker(rt)
    (call,) = [s for s in transport.sent if s["kind"] == "call"]
    assert call["to"] == SERGEANT and PARTICIPANT not in call["twiml"]
    form = bridge_form(request.id, SERGEANT, call["sid"])
    answer = twilio.client.post(
        f"/twilio/voice/bridge/{request.id}",
        data=form,
        headers={"X-Twilio-Signature": _sign(f"/twilio/voice/bridge/{request.id}", form)},
    )
    root = ElementTree.fromstring(answer.get_data(as_text=True))
    dial = root.find("Dial")
    assert dial.get("callerId") == HOTLINE_NUMBER and dial.find("Number").text == PARTICIPANT
    assert "ride" not in (root.find("Say").text or "").lower()

    assert "DONE REACHED" in text(rt, "DONE IN", SERGEANT)[0], "a call-back ends as a call does"
    assert (
        text(rt, f"DONE NO ANSWER {request.ref}", SERGEANT)[0]
        == f"{request.ref} closed: NO ANSWER. Thank you."
    )
    closed = the_dispatch(rt)
    assert (closed.status, closed.outcome) == ("completed", "no_answer")
    to_participant = " ".join(texts_to(rt, PARTICIPANT)).lower()
    assert "on the way" not in to_participant and "ride" not in to_participant


def _sign(path: str, form: dict) -> str:
    from tests.support import sign

    return sign(path, form)


def test_assigning_a_callback_never_tells_the_participant_an_officer_is_on_the_way(rt):
    add_roster(rt)
    text(rt, "hi")
    text(rt, "3")
    text(rt, "yes")
    request = the_dispatch(rt)
    assert any("any time" in b for b in texts_to(rt, SERGEANT) if request.ref in b)
    text(rt, f"ASSIGN {request.ref} Chen", SERGEANT)
    (assigned,) = [b for b in texts_to(rt, CHEN) if request.ref in b]
    assert "call-back" in assigned and "near" not in assigned and "ride" not in assigned
    assert texts_to(rt, PARTICIPANT) == []
    assert "DONE REACHED" in text(rt, "DONE", CHEN)[0]
    assert text(rt, "DONE RIDE", CHEN)[0] == f"{request.ref} closed: RIDE. Thank you."


def test_danger_words_during_an_assigned_callback_ask_for_a_call_not_a_drive(rt):
    add_roster(rt)
    for body in ["hi", "3", "now"]:
        text(rt, body)
    request = the_dispatch(rt)
    text(rt, f"ASSIGN {request.ref} Chen", SERGEANT)
    text(rt, "overdose")
    (alert,) = [b for b in texts_to(rt, CHEN) if "alert" in b]
    assert f"CALL {request.ref}" in alert and "Go now" not in alert and "ride" not in alert
    assert any(f"call-back {request.ref}" in b for b in texts_to(rt, SERGEANT) if "alert" in b)


def test_a_callback_time_and_a_new_place_never_reach_the_logs(rt, caplog):
    add_roster(rt)
    with caplog.at_level(logging.DEBUG):
        for body in ["hi", "3", "after 5pm tonight"]:
            text(rt, body)
        request = the_dispatch(rt)
        text(rt, f"CALL {request.ref}", SERGEANT)
        text(rt, f"ASSIGN {request.ref} Chen", SERGEANT)
        run_worker(rt)
        request_ride(rt, sender=OTHER)
        text(rt, "actually im at the walgreens across the street now", OTHER)
        text(rt, "yes", OTHER)
        run_worker(rt)
    assert any("call-back" in b and "no longer need to call" in b for b in texts_to(rt, SERGEANT))
    logged = caplog.text.lower()
    assert "after 5pm" not in logged and "walgreens" not in logged
    assert PARTICIPANT[2:] not in logged and OTHER[2:] not in logged


def test_the_board_calls_back_and_offers_call_outcomes(twilio, client, rt, transport):
    add_roster(rt)
    add_accounts(rt)
    text(rt, "hi")
    text(rt, "3")
    text(rt, "after 5pm")
    request = the_dispatch(rt)
    sign_in(client, "rivera")
    page = client.get(f"/dashboard/dispatch/{request.ref}").get_data(as_text=True)
    assert "Call back" in page and "No answer" in page and "after 5pm" in page
    assert "Inpatient" not in page
    with rt.db.reading() as session:
        sergeant = roster.find_by_phone(session, rt, SERGEANT)
    client.post(
        f"/dashboard/dispatch/{request.ref}/call",
        data={"csrf_token": csrf_from(page), "officer_id": sergeant.id},
    )
    run_worker(rt)
    assert [s["to"] for s in transport.sent if s["kind"] == "call"] == [SERGEANT]
    assert the_dispatch(rt).officer_id == sergeant.id
    page = client.get(f"/dashboard/dispatch/{request.ref}").get_data(as_text=True)
    client.post(
        f"/dashboard/dispatch/{request.ref}/close", data={"csrf_token": csrf_from(page), "outcome": "in"}
    )
    assert the_dispatch(rt).is_open, "a ride's outcome does not close a call-back"
    client.post(
        f"/dashboard/dispatch/{request.ref}/close", data={"csrf_token": csrf_from(page), "outcome": "reached"}
    )
    assert the_dispatch(rt).outcome == "reached"


# ---- 7. the participant's language on offers ------------------------------------------------


def test_a_spanish_speakers_offer_says_so(rt):
    add_roster(rt)
    for body in ["Hola", "2", "si", "si", "no", "no", "no", "QuikTrip", "si", "si"]:
        text(rt, body)
    (offer,) = texts_to(rt, CHEN, purpose="offer")
    assert "Language: Spanish" in offer


# ---- 9. a free officer before a busy one -----------------------------------------------------


def test_a_second_ride_goes_to_a_free_officer_not_to_one_holding_an_offer(rt):
    ids = add_roster(rt)
    request_ride(rt)
    request_ride(rt, sender=OTHER)
    with rt.db.reading() as session:
        holders = [o.officer_id for o in session.exec(select(Offer).where(Offer.status == "open")).all()]
    assert holders == [ids["Ofc. Chen"], ids["Ofc. Okafor"]]
    request_ride(rt, sender="+18165550178")
    assert texts_to(rt, SMITH, purpose="offer"), "the third free officer gets the third ride"


def test_with_everyone_busy_the_fair_order_still_holds(rt):
    ids = add_roster(rt, officers=("Ofc. Chen",))
    request_ride(rt)
    request_ride(rt, sender=OTHER)
    with rt.db.reading() as session:
        holders = [o.officer_id for o in session.exec(select(Offer).where(Offer.status == "open")).all()]
    assert holders == [ids["Ofc. Chen"]] * 2, "nobody free: the busy officer still gets it"
