"""Twilio retrying a call's step into several real processes at once: one advance, one dispatch."""

import multiprocessing

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from models import Conversation, Dispatch, OutboxMessage
from tests.calls import Caller
from tests.support import PUBLIC_URL, Twilio, hotline_config

pytestmark = pytest.mark.slow
FORK = multiprocessing.get_context("fork")


def _post_when_ready(url, path, params, barrier, results):
    app = create_app(hotline_config(url), environ={})
    twilio = Twilio(app.test_client())
    barrier.wait(timeout=30)
    response = twilio.post(path, params)
    results.put((response.status_code, response.get_data(as_text=True)))
    runtime(app).db.dispose()


def race(url: str, action: str, params: dict, copies: int) -> list[tuple[int, str]]:
    path = action.removeprefix(PUBLIC_URL)
    barrier, results = FORK.Barrier(copies), FORK.Queue()
    workers = [
        FORK.Process(target=_post_when_ready, args=(url, path, params, barrier, results))
        for _ in range(copies)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return answers


def test_a_confirmation_delivered_to_three_processes_at_once_opens_one_dispatch(
    app, twilio, rt, database_url
):
    with rt.db.unit_of_work() as session:
        roster.add_officer(
            session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True
        ).on_duty = True
        session.commit()
    caller = Caller(twilio, rt)
    caller.start()
    caller.keys("2", "1", "1", "2", "2", "3", "1", "1")
    answers = race(database_url, caller.action, caller.params(Digits="1"), 3)
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1, "every delivery hears the same words"
    assert "request is sent" in answers[0][1]
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(Dispatch)).one() == 1
        requested = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "alert")).all()
        assert len([row for row in requested if "requested" in (rt.vault.open(row.body_sealed) or "")]) == 1


def test_a_dial_result_delivered_to_two_processes_at_once_rings_the_next_person_once(
    app, twilio, rt, database_url
):
    with rt.db.unit_of_work() as session:
        for name, phone in (("Ofc. Chen", "+18165550101"), ("Ofc. Okafor", "+18165550102")):
            roster.add_officer(session, rt, name=name, phone=phone).on_duty = True
        session.commit()
    caller = Caller(twilio, rt)
    caller.start()
    caller.press("3")
    params = caller.params(DialCallStatus="no-answer", DialBridged="false")
    answers = race(database_url, caller.last.dial.get("action"), params, 2)
    assert len({body for _, body in answers}) == 1
    assert "+18165550102" in answers[0][1]
    with rt.db.reading() as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.version == 3, "language, talk now, one dial result"
