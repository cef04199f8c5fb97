"""An inbound text always gets valid TwiML, once, whatever it says and whatever fails."""

import logging

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from models import Conversation, InboundMessage, OutboxMessage
from tests.support import PARTICIPANT, hotline_config, sms_params, twiml_messages

BODIES = {
    "empty": "",
    "whitespace": " \t\n ",
    "1600 characters": "a" * 1600,
    "emoji": "\U0001f62d\U0001f64f\U0001f3fd",
    "xml metacharacters": "<Response>&'\"]]></Response>",
    "control characters": "\x00\x01\x1b[31m",
    "right to left": "\u202eselpmaxe\u200b",
    "sql": "1'; DROP TABLE conversation; --",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_any_body_gets_valid_twiml(twilio, body):
    response = twilio.post("/twilio/sms", sms_params(body))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    document = response.get_data(as_text=True)
    assert document.startswith("<?xml")
    assert len(response.get_data()) < 64 * 1024
    assert twiml_messages(document), "every ordinary message gets an answer"


def test_media_without_text_asks_for_text(twilio):
    response = twilio.post("/twilio/sms", sms_params("", NumMedia="2", MediaUrl0="https://a.example/1"))
    assert response.status_code == 200
    assert twiml_messages(response.get_data(as_text=True))


def test_twilio_retry_gets_the_same_answer_and_advances_once(twilio, rt):
    first = twilio.text("hi", sid="SM" + "a" * 32)
    again = twilio.text("hi", sid="SM" + "a" * 32)
    assert first == again
    with rt.db.reading() as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.version == 1
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 1


def test_two_texts_advance_the_conversation_twice(twilio, rt):
    twilio.text("hi")
    twilio.text("1")
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 2


def test_different_formats_of_one_number_share_a_conversation(twilio, rt):
    twilio.text("hi", sender="+18165550142")
    twilio.text("1", sender="+1 (816) 555-0142")
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 1


def test_withheld_sender_does_not_crash(twilio):
    assert twilio.text("hi", sender="anonymous")


def test_message_without_sid_is_answered_with_nothing(twilio, rt):
    params = sms_params("hi")
    params.pop("MessageSid")
    params.pop("SmsSid")
    response = twilio.post("/twilio/sms", params)
    assert response.status_code == 200
    assert twiml_messages(response.get_data(as_text=True)) == []


def add_sergeant(rt, phone="+18165550100"):
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Test", phone=phone, sergeant=True).on_duty = True
        session.commit()


def staff_alerts(rt) -> list[OutboxMessage]:
    with rt.db.reading() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.audience == "staff")).all())


def test_emergency_alerts_the_sergeant_once_even_when_twilio_retries(twilio, rt):
    add_sergeant(rt)
    replies = twilio.text("someone is not breathing", sid="SM" + "b" * 32)
    twilio.text("someone is not breathing", sid="SM" + "b" * 32)
    assert "911" in " ".join(replies)
    alerts = staff_alerts(rt)
    assert len(alerts) == 1
    body = rt.vault.open(alerts[0].body_sealed)
    assert "911" in body and PARTICIPANT not in body


def test_stop_records_opt_out_and_answers_nothing(twilio, rt):
    twilio.text("hi")
    assert twilio.text("STOP") == []
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().opted_out


def test_database_outage_gets_a_safe_static_answer(tmp_path, caplog):
    broken = hotline_config("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    app = create_app(broken, environ={})
    from tests.support import Twilio

    with caplog.at_level(logging.ERROR):
        response = Twilio(app.test_client()).post("/twilio/sms", sms_params("overdose help"))
    assert response.status_code == 200
    texts = twiml_messages(response.get_data(as_text=True))
    rt = runtime(app)
    assert texts == [rt.catalog.render("service_unavailable", "en")]
    assert "911" in texts[0] and rt.program.desk_phone in texts[0]


def test_fallback_url_answers_without_a_database(tmp_path):
    broken = hotline_config("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    app = create_app(broken, environ={})
    from tests.support import Twilio

    params = sms_params("hi", ErrorCode="11200", ErrorUrl="https://hotline.example.org/twilio/sms")
    response = Twilio(app.test_client()).post("/twilio/fallback/sms", params)
    assert response.status_code == 200
    assert "911" in twiml_messages(response.get_data(as_text=True))[0]


def test_program_file_reask_limit_reaches_the_conversation(tmp_path, transport):
    from hotline.plumbing.config import DEFAULT_PROGRAM
    from tests.support import Twilio

    program = tmp_path / "program.toml"
    program.write_text(DEFAULT_PROGRAM.read_text().replace("reask_limit = 2", "reask_limit = 0"))
    app = create_app(
        hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(program)),
        transport=transport,
        environ={},
    )
    runtime(app).db.create_all()
    twilio = Twilio(app.test_client())
    twilio.text("hi")
    desk = runtime(app).program.desk_phone
    assert desk in " ".join(twilio.text("purple")), "no re-ask allowed: the desk number at once"
    runtime(app).db.dispose()


def test_written_out_twiml_is_what_twilio_python_makes(rt):
    """The answer's TwiML, written by hand, is character for character MessagingResponse's."""
    from twilio.twiml.messaging_response import MessagingResponse

    from hotline.web.twilio_webhook import messages

    catalog_texts = [
        rt.catalog.render(key, language) for language in ("en", "es") for key in rt.catalog.keys(language)
    ]
    assert len(catalog_texts) > 40
    cases = [[], [""], ["a & <b> \"q\" 'x' é\n😀 ]]> &amp;"], catalog_texts, ["one", "two", ""]]
    for texts in cases:
        expected = MessagingResponse()
        for text in texts:
            expected.message(text)
        response = messages(texts)
        assert response.get_data(as_text=True) == str(expected)
        assert response.mimetype == "text/xml"
