"""PRIVACY / PRIVACIDAD: a global word answered with what is kept, how long, who sees it, how to erase."""

from __future__ import annotations

import pytest
from sqlmodel import select

from flows import INTAKE, Event
from flows.intake import STATES
from flows.texts import segments
from models import Conversation

ANSWERS = {"place": "QuikTrip, 291 & 3rd St", "safe": "yes", "adult": "yes"}


def handle(state: str, text: str, language: str = "en", **context):
    data = {"language": language, "answers": dict(ANSWERS), "reasks": 0}
    return INTAKE.handle(state, data, Event(text, "sms", context))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("PRIVACY", "en"),
        (" privacy? ", "en"),
        ("Privacy policy", "en"),
        ("PRIVACIDAD", "es"),
        ("privacidad!", "es"),
    ],
)
def test_privacy_answers_in_every_state_and_keeps_it(state, text, language):
    step = handle(state, text, request={"ref": "R7K2", "status": "waiting"})
    assert step.replies[0].key == "info.privacy"
    assert step.state == state, "asking about privacy loses no place in the conversation"
    assert step.language == language
    assert not step.effects


def test_screening_answers_survive_a_privacy_question():
    step = handle("ask_consent", "privacy")
    assert step.data["answers"] == ANSWERS


def test_the_info_menu_still_reads_data_as_its_privacy_topic():
    """The word "data" is no global word, but in the info menu it picks topic 6, privacy."""
    step = handle("info", "data")
    assert [reply.key for reply in step.replies] == ["info.privacy", "info.privacy.delete", "info.more"]


def test_the_answer_keeps_each_promise_within_two_segments(rt):
    """privacy.md P2 to P7 in short: what, how long, where (Twilio too), who sees it, the records
    commitment with its legal limit, what DELETE erases and what stays."""
    days = str(rt.program.message_days)
    for language, words, erase in (
        (
            "en",
            [f"{days} days", "Twilio", "locked", "officer and sergeant", "investigate or charge", "court"],
            ["DELETE", "erases your texts", "What stays", "yes or no answers", "Twilio keeps"],
        ),
        (
            "es",
            [f"{days} dias", "Twilio", "protegido", "el oficial y el sargento", "investigarle ni", "juez"],
            ["BORRAR", "se borran sus mensajes", "Queda", "respuestas SI o NO", "Twilio guarda"],
        ),
    ):
        text = rt.catalog.render("info.privacy", language)
        follow_up = rt.catalog.render("info.privacy.delete", language)
        for word in words:
            assert word in text, (word, text)
        for word in erase:
            assert word in follow_up, (word, follow_up)
        for each in (text, follow_up):
            assert segments(each)[1] <= 2, (len(each), each)
        assert "never used" not in text and "all now" not in follow_up


def test_privacy_by_text_message(twilio, rt):
    twilio.text("hi")
    twilio.text("2")
    reply, erase = twilio.text("PRIVACY")
    assert reply == rt.catalog.render("info.privacy", "en")
    assert erase == rt.catalog.render("info.privacy.delete", "en")
    (next_question,) = twilio.text("yes")
    assert next_question == rt.catalog.render("ask_adult", "en"), "the screening goes on where it was"
    spanish, _ = twilio.text("privacidad")
    assert spanish == rt.catalog.render("info.privacy", "es")


def test_an_opted_out_number_gets_no_privacy_text(twilio, rt):
    twilio.text("hi")
    twilio.text("STOP")
    assert twilio.text("PRIVACY") == []
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().opted_out
