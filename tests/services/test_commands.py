"""Staff commands by SMS: who may give them, spoofing, wrong codes, duty and the sergeant's commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from hotline.services import commands
from hotline.services.commands import WRONG_CODES_ALLOWED
from models import AuditEntry, Conversation, Dispatch, InboundMessage, Officer, OutboxMessage
from models.clock import utcnow
from tests.dispatch_helpers import (
    CHEN,
    OKAFOR,
    SERGEANT,
    SMITH,
    add_roster,
    code_for,
    offers,
    request_ride,
    rows,
    text,
    texts_to,
    the_dispatch,
)
from tests.support import PARTICIPANT, sms_params


def everything(rt) -> dict:
    """Return a snapshot of what spoofed commands must not change."""
    with rt.db.reading() as session:
        ride = session.exec(select(Dispatch)).first()
        return {
            "dispatch": (ride.status, ride.officer_id) if ride else None,
            "offers": [(o.status, o.officer_id) for o in offers(rt)],
            "duty": sorted((o.id, o.on_duty) for o in session.exec(select(Officer)).all()),
            "outbox": session.exec(select(func.count()).select_from(OutboxMessage)).one(),
        }


@pytest.mark.parametrize(
    "body, word, rest",
    [
        ("ACCEPT 4821", "ACCEPT", "4821"),
        ("accept4821", "ACCEPT", "4821"),
        ("  Decline #4821 ", "DECLINE", "4821"),
        ("DONE IN", "DONE", "IN"),
        ("msg I'm in a grey car, 5 min", "MSG", "I'm in a grey car, 5 min"),
        ("ASSIGN r7k2 Ofc. Chen", "ASSIGN", "r7k2 Ofc. Chen"),
        ("on.", "ON", ""),
        ("4821", "", "4821"),
        ("", "", ""),
    ],
)
def test_parse_splits_word_and_rest(body, word, rest):
    assert commands.parse(body) == commands.Command(word, rest)


def test_no_single_word_command_is_one_of_twilios_opt_out_words():
    singles = {word for word in commands.HANDLERS}
    assert singles.isdisjoint(commands.TWILIO_OPT_OUT - {"CANCEL"})
    # CANCEL alone is Twilio's; ours always carries a reference.
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= commands.TWILIO_OPT_OUT


def test_an_unsigned_command_from_an_officers_number_changes_nothing(client, rt):
    add_roster(rt)
    request_ride(rt)
    before = everything(rt)
    params = sms_params(f"ACCEPT {code_for(rt, CHEN)}", sender=CHEN)
    assert client.post("/twilio/sms", data=params).status_code == 403
    forged = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    assert everything(rt) == before


def test_wrong_codes_from_an_officers_number_are_refused(twilio, rt):
    add_roster(rt)
    request_ride(rt)
    real = code_for(rt, CHEN)
    wrong = [c for c in ("0000", "1111", "2222", "3333", "4444") if c != real][: WRONG_CODES_ALLOWED - 1]
    before = everything(rt)

    replies = [twilio.text(f"ACCEPT {code}", sender=CHEN) for code in wrong]

    assert all(
        r == ["That code is not valid. Use the 4-digit code from the offer, e.g. ACCEPT 4821."]
        for r in replies
    )
    after = everything(rt)
    assert after["dispatch"] == before["dispatch"] and after["offers"] == before["offers"]
    assert not [b for b in texts_to(rt, SERGEANT) if "wrong offer codes" in b], "a few typos alarm nobody"
    assert texts_to(rt, CHEN, purpose="alert") == [], "rejected attempts are not echoed to the officer"
    # The real officer can still accept, and the count starts over.
    assert "is yours" in twilio.text(f"ACCEPT {real}", sender=CHEN)[0]
    with rt.db.reading() as session:
        assert session.exec(select(Officer).where(Officer.name == "Ofc. Chen")).one().failed_codes == 0


def test_a_flood_of_wrong_codes_pauses_accept_and_tells_the_sergeant_once(rt):
    add_roster(rt)
    request_ride(rt)
    real = code_for(rt, CHEN)
    guesses = [f"{n:04d}" for n in range(60) if f"{n:04d}" != real][:40]
    now = utcnow()

    replies = [
        text(rt, f"ACCEPT {code}", CHEN, now=now + timedelta(seconds=i)) for i, code in enumerate(guesses)
    ]
    late = text(rt, f"ACCEPT {real}", CHEN, now=now + timedelta(seconds=50))

    paused = "Too many wrong codes: ACCEPT and DECLINE from this number are paused for 10 minutes"
    assert all(not r[0].startswith(paused) for r in replies[: WRONG_CODES_ALLOWED - 1])
    assert all(r[0].startswith(paused) for r in replies[WRONG_CODES_ALLOWED - 1 :])
    assert late[0].startswith(paused), "while paused, even the right code is not checked"
    assert the_dispatch(rt).officer_id is None
    (alert,) = [b for b in texts_to(rt, SERGEANT) if "wrong offer codes" in b]
    assert "Ofc. Chen" in alert and f"{WRONG_CODES_ALLOWED} wrong offer codes in 10 minutes" in alert
    with rt.db.reading() as session:
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.actor.startswith("officer:"))).all()
    assert actions.count("sms.accept_wrong_code") == WRONG_CODES_ALLOWED
    assert actions.count("sms.codes_paused") == 1
    assert actions.count("sms.accept_paused") == len(guesses) - WRONG_CODES_ALLOWED + 1
    # Ten minutes after the pause began, codes are checked again.
    after = text(rt, f"DECLINE {guesses[0]}", CHEN, now=now + timedelta(minutes=10, seconds=30))
    assert after == ["That code is not valid. Use the 4-digit code from the offer, e.g. ACCEPT 4821."]
    assert len([b for b in texts_to(rt, SERGEANT) if "wrong offer codes" in b]) == 1


def test_the_pause_is_per_officer(rt):
    add_roster(rt)
    request_ride(rt)
    for n in range(WRONG_CODES_ALLOWED):
        text(rt, f"ACCEPT 99{n:02d}", OKAFOR)
    assert text(rt, "ACCEPT 9999", OKAFOR)[0].startswith("Too many wrong codes")
    assert "is yours" in text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)[0]


def test_every_staff_text_is_audited_with_ids_only(rt):
    ids = add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)
    ref_before = the_dispatch(rt).ref
    for body, sender in [
        ("OFF", SMITH),
        ("ON", SMITH),
        ("ACCEPT 0000" if code != "0000" else "ACCEPT 1111", CHEN),
        (f"ACCEPT {code}", CHEN),
        ("MSG I'm in a grey car at 291 & 3rd", CHEN),
        ("ROSTER", CHEN),
        ("what is going on", CHEN),
        ("ARRIVED", CHEN),
        (f"ASSIGN {ref_before} Okafor", SERGEANT),
    ]:
        text(rt, body, sender)
    with rt.db.reading() as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    chen, smith, sergeant = (f"officer:{ids[n]}" for n in ("Ofc. Chen", "Ofc. Smith", "Sgt. Rivera"))
    assert [(e.actor, e.action, e.target) for e in entries] == [
        (smith, "sms.off", None),
        (smith, "sms.on", None),
        (chen, "sms.accept_wrong_code", None),
        (chen, "sms.accept", f"dispatch:{ref_before}"),
        (chen, "sms.msg", f"dispatch:{ref_before}"),
        (chen, "sms.roster_refused", None),
        (chen, "sms.unknown", None),
        (chen, "sms.arrived", f"dispatch:{ref_before}"),
        (sergeant, "sms.assign", f"dispatch:{ref_before}"),
    ]
    written = " ".join(f"{e.actor} {e.action} {e.target} {e.detail} {e.address}" for e in entries)
    for secret in ("grey car", "291", "5550101", "going on", code):
        assert secret not in written


@pytest.mark.parametrize(
    "body", ["ACCEPT 1234", "DECLINE 1234", "ARRIVED", "DONE IN", "ASSIGN R7K2 Chen", "ON"]
)
def test_staff_words_from_any_other_number_are_ordinary_participant_input(twilio, rt, body):
    add_roster(rt)
    request_ride(rt)
    before = everything(rt)

    replies = twilio.text(body, sender="+18165550199")

    after = everything(rt)
    assert after["dispatch"] == before["dispatch"] and after["offers"] == before["offers"]
    assert after["duty"] == before["duty"]
    joined = " ".join(replies)
    assert "Reply 1" in joined or "MENU" in joined, "the participant menu"
    for hint in ("ACCEPT", "DECLINE", "ASSIGN", "ROSTER", "code"):
        assert hint not in joined, "no hint that staff commands exist"


def test_an_inactive_officer_is_treated_as_a_participant(rt):
    from hotline.services import roster

    add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)
    with rt.db.unit_of_work() as session:
        roster.set_active(session, rt, CHEN, False)
        session.commit()
    reply = text(rt, f"ACCEPT {code}", CHEN)
    assert "ACCEPT" not in " ".join(reply)
    assert the_dispatch(rt).officer_id is None
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 2


def test_anything_else_from_staff_gets_the_command_help(rt):
    add_roster(rt)
    assert text(rt, "hello?", CHEN)[0].startswith("SAFE PASSAGE commands: ACCEPT")
    assert text(rt, "HELP", SERGEANT)[0].startswith("SAFE PASSAGE sergeant commands")
    assert text(rt, "", CHEN)[0].startswith("SAFE PASSAGE commands")
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 0, (
            "staff are not participants"
        )


def test_accept_without_a_code_says_what_is_missing(rt):
    add_roster(rt)
    request_ride(rt)
    assert text(rt, "ACCEPT", CHEN) == ["ACCEPT needs the 4-digit code from the offer, e.g. ACCEPT 4821."]
    assert the_dispatch(rt).status == "offered"


def test_sergeant_commands_are_refused_to_officers(rt):
    add_roster(rt)
    request_ride(rt)
    for word in ("OPEN", "ROSTER", f"ASSIGN {the_dispatch(rt).ref} Chen"):
        assert text(rt, word, CHEN)[0].startswith("Only a sergeant can use")
    assert the_dispatch(rt).officer_id is None


def test_open_and_roster_for_the_sergeant(rt):
    add_roster(rt)
    assert text(rt, "OPEN", SERGEANT) == ["No open requests."]
    request_ride(rt)
    ref = the_dispatch(rt).ref
    (listing,) = text(rt, "open", SERGEANT)
    assert listing.startswith("Open: ") and f"{ref} ride offered (Ofc. Chen)" in listing
    text(rt, "OFF", SMITH)
    (roster_text,) = text(rt, "ROSTER", SERGEANT)
    assert (
        "Ofc. Chen" in roster_text.split("Off duty")[0] and "Ofc. Smith" in roster_text.split("Off duty")[1]
    )
    assert "555" not in roster_text, "numbers stay hidden"


def test_assign_explains_unknown_and_ambiguous_names(rt):
    from hotline.services import roster

    add_roster(rt)
    request_ride(rt)
    ref = the_dispatch(rt).ref
    assert text(rt, "ASSIGN", SERGEANT)[0].startswith("Write ASSIGN")
    assert text(rt, "ASSIGN ZZZZ Chen", SERGEANT) == ["No open request has the reference ZZZZ."]
    assert text(rt, f"ASSIGN {ref} Nobody", SERGEANT)[0].startswith('No active officer matches "Nobody"')
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Det. Chen", phone="+18165550104")
        session.commit()
    assert '"chen" matches Ofc. Chen, Det. Chen' in text(rt, f"ASSIGN {ref} chen", SERGEANT)[0]
    assert the_dispatch(rt).officer_id is None
    assert "assigned to Det. Chen" in text(rt, f"ASSIGN {ref} Det. Chen", SERGEANT)[0]


def test_on_and_off_by_text_are_echoed_to_the_sergeant(rt):
    add_roster(rt)
    assert text(rt, "OFF", OKAFOR) == ["You are OFF duty: no ride offers until you reply ON."]
    assert text(rt, "ON", OKAFOR)[0].startswith("You are ON duty")
    echoes = [b for b in texts_to(rt, SERGEANT) if "went" in b]
    assert [e.split(": ")[1].split(" at ")[0] for e in echoes] == [
        "Ofc. Okafor went off duty",
        "Ofc. Okafor went on duty",
    ]


@pytest.mark.parametrize("word", ["STOP", "stop", "CANCEL", "Unsubscribe"])
def test_an_opt_out_word_from_an_officer_takes_them_off_duty_silently(rt, word):
    ids = add_roster(rt)
    request_ride(rt)
    assert text(rt, word, CHEN) == [], "Twilio answers STOP itself"
    with rt.db.reading() as session:
        assert session.get(Officer, ids["Ofc. Chen"]).on_duty is False
    assert [(o.officer_id, o.status) for o in offers(rt)] == [
        (ids["Ofc. Chen"], "withdrawn"),
        (ids["Ofc. Okafor"], "open"),
    ]
    assert any("Ofc. Chen texted STOP" in b for b in texts_to(rt, SERGEANT))


def test_cancel_with_a_reference_by_the_assigned_officer_or_a_sergeant(rt):
    add_roster(rt)
    request_ride(rt)
    ref = the_dispatch(rt).ref
    assert text(rt, f"CANCEL {ref}", OKAFOR) == [f"{ref} is not assigned to you."]
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    assert text(rt, f"cancel {ref.lower()}", CHEN) == [
        f"{ref} is cancelled; the participant and the sergeant are told."
    ]
    assert the_dispatch(rt).status == "cancelled"
    assert any(f"{ref}: Ofc. Chen cancelled it" in b for b in texts_to(rt, SERGEANT))
    assert "was cancelled" in texts_to(rt, PARTICIPANT)[-1]
    assert text(rt, f"CANCEL {ref}", SERGEANT) == [f"No open request has the reference {ref}."]


def test_commands_without_a_ride_say_so(rt):
    add_roster(rt)
    for body in ("ARRIVED", "DONE IN", "MSG hello", "CALL"):
        assert text(rt, body, CHEN) == ["You have no open ride or call-back. Reply HELP for the commands."]


def test_an_officer_with_two_rides_names_which(rt):
    add_roster(rt, officers=("Ofc. Chen",))
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    first = the_dispatch(rt).ref
    request_ride(rt, sender="+18165550177")
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    second = the_dispatch(rt).ref
    assert text(rt, "ARRIVED", CHEN)[0].startswith(f"You have several open requests ({first}, {second})")
    assert text(rt, f"ARRIVED {second}", CHEN) == [
        f"Noted: you arrived for {second}. Reply DONE IN, DONE OUT or DONE REFUSED at the end."
    ]


def test_a_staff_retry_is_answered_from_the_log(twilio, rt):
    add_roster(rt)
    first = twilio.text("OFF", sender=CHEN, sid="SM" + "f" * 32)
    again = twilio.text("OFF", sender=CHEN, sid="SM" + "f" * 32)
    assert first == again
    assert len([b for b in texts_to(rt, SERGEANT) if "went off duty" in b]) == 1
    with rt.db.reading() as session:
        logged = session.exec(select(InboundMessage)).all()
    assert len(logged) == 1 and logged[0].conversation_id is None


def test_no_phone_number_appears_in_staff_texts_about_a_participant(rt):
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    for row in rows(rt, audience="staff"):
        assert PARTICIPANT[2:] not in row.body


ODD_FORMS = [
    "whatsapp:+18165550101",
    "tel:+18165550101",
    "8165550101",
    "+18165550101;ext=9",
    "+1 816 555 0101",
]


@pytest.mark.parametrize("sender", ODD_FORMS)
def test_staff_are_recognised_only_from_a_bare_e164_number(twilio, rt, sender):
    add_roster(rt)
    request_ride(rt)
    before = everything(rt)
    code = code_for(rt, CHEN)

    replies = twilio.text("OFF", sender=sender) + twilio.text(f"ACCEPT {code}", sender=sender)

    after = everything(rt)
    assert after["duty"] == before["duty"] and after["dispatch"] == before["dispatch"]
    assert after["offers"] == before["offers"]
    assert not [b for b in texts_to(rt, SERGEANT) if "went off duty" in b]
    for hint in ("ACCEPT", "off duty", "is yours"):
        assert hint not in " ".join(replies), "answered as a participant"
    assert "is yours" in twilio.text(f"ACCEPT {code}", sender=CHEN)[0], "the real number still works"


def test_staff_texts_read_as_sentences_in_the_audit_log():
    from hotline.web.dashboard.words import audit_sentence

    officers = {3: "Ofc. Chen"}
    assert audit_sentence("sms.accept", "dispatch:R7K2", None, officers) == "Texted ACCEPT for request R7K2."
    assert audit_sentence("sms.accept_wrong_code", None, None, officers) == "Texted ACCEPT with a wrong code."
    assert "paused" in audit_sentence("sms.codes_paused", "officer:3", None, officers)
    assert (
        audit_sentence("sms.arrived", "dispatch:R7K2", None, officers) == "Texted ARRIVED for request R7K2."
    )
    assert audit_sentence("sms.roster_refused", None, None, officers) == "Texted ROSTER (refused)."
    assert audit_sentence("sms.accept_expired", "dispatch:R7K2", None, officers) == (
        "Texted ACCEPT for request R7K2 (expired)."
    )
