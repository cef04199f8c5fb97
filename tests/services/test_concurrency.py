"""Retries and races in real processes: each message applied once, none lost."""

import multiprocessing

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from models import Conversation, InboundMessage
from tests.support import Twilio, hotline_config, sms_params

pytestmark = pytest.mark.slow
FORK = multiprocessing.get_context("fork")


def _post_when_ready(url, params, barrier, results):
    app = create_app(hotline_config(url), environ={})
    twilio = Twilio(app.test_client())
    barrier.wait(timeout=30)
    response = twilio.post("/twilio/sms", params)
    results.put((response.status_code, response.get_data(as_text=True)))


def race(url, forms) -> list[tuple[int, str]]:
    barrier, results = FORK.Barrier(len(forms)), FORK.Queue()
    workers = [FORK.Process(target=_post_when_ready, args=(url, form, barrier, results)) for form in forms]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return answers


def test_same_message_delivered_to_four_workers_at_once_advances_once(app, database_url):
    form = sms_params("hi", sid="SM" + "c" * 32)
    answers = race(database_url, [form] * 4)
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1, "every delivery gets the same answer"
    with runtime(app).db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 1
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 1


def test_two_messages_from_one_sender_at_once_are_both_applied(app, database_url):
    answers = race(database_url, [sms_params("hi"), sms_params("1")])
    assert [status for status, _ in answers] == [200, 200]
    with runtime(app).db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 2
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 2


def test_many_senders_across_processes_are_all_answered(app, database_url):
    forms = [sms_params("hi", sender=f"+1816555{1000 + n}") for n in range(8)]
    answers = race(database_url, forms)
    assert [status for status, _ in answers] == [200] * 8
    with runtime(app).db.reading() as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 8


def test_two_texts_from_a_sender_mid_conversation_at_once_are_both_applied(app, twilio, database_url):
    twilio.text("hi")
    answers = race(database_url, [sms_params("1"), sms_params("MENU")])
    assert [status for status, _ in answers] == [200, 200]
    with runtime(app).db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 3
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 3


def test_a_retry_mid_conversation_delivered_to_four_workers_at_once_advances_once(app, twilio, database_url):
    twilio.text("hi")
    answers = race(database_url, [sms_params("1", sid="SM" + "d" * 32)] * 4)
    assert len({body for _, body in answers}) == 1, "every delivery gets the same answer"
    with runtime(app).db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 2
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 2


def test_a_burst_of_wrong_codes_at_once_checks_a_few_and_tells_the_sergeant_once(app, rt, database_url):
    from models import AuditEntry
    from tests.dispatch_helpers import CHEN, SERGEANT, add_roster, code_for, request_ride, texts_to

    add_roster(rt)
    request_ride(rt)
    real = code_for(rt, CHEN)
    guesses = [f"{n:04d}" for n in range(20) if f"{n:04d}" != real][:12]
    answers = race(database_url, [sms_params(f"ACCEPT {code}", sender=CHEN) for code in guesses])
    assert {status for status, _ in answers} == {200}
    with rt.db.reading() as session:
        actions = session.exec(select(AuditEntry.action)).all()
    assert actions.count("sms.accept_wrong_code") == 5, "only a few codes are checked"
    assert actions.count("sms.codes_paused") == 1
    assert len([b for b in texts_to(rt, SERGEANT) if "wrong offer codes" in b]) == 1
