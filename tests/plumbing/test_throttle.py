"""Throttling: a flood from one number gets no answer (never a 429), and outbound texts are capped."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from datetime import timedelta

import pytest
import redis
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing import jobs
from hotline.plumbing.config import ConfigError
from hotline.plumbing.program import load_program
from hotline.plumbing.runtime import runtime
from hotline.plumbing.throttle import SHARED, SHARED_SENDERS, throttle
from models import Conversation, InboundMessage, OutboxMessage
from models.clock import utcnow
from tests.calls import Caller
from tests.dispatch_helpers import SERGEANT, add_roster
from tests.support import REPO, Twilio, hotline_config, require, sms_params, twiml_messages, unpaced

REDIS_URL = "redis://127.0.0.1:6379/15"
PROGRAM = (REPO / "hotline" / "program.toml").read_text(encoding="utf-8")


def program_with(tmp_path, **limits) -> str:
    """Write the shipped program file with other [limits]; return its path."""
    text = PROGRAM
    for name, value in limits.items():
        head, rest = text.split(f"{name} = ", 1)
        text = head + f"{name} = {value}" + rest[rest.index(" ") :]
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def number() -> str:
    """A sender no other test (or earlier run against the same Redis) has used."""
    return f"+1816{random.randrange(2_000_000, 9_999_999)}"


def redis_up() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str | None:
    if request.param == "redis":
        require(redis_up(), f"Redis is not reachable at {REDIS_URL}")
        # Every withheld caller shares one count: start it at zero, whatever an earlier run left.
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter("hotline:throttle:*withheld*"):
            client.delete(key)
        client.close()
        return REDIS_URL
    return None


def make_app(database_url, transport, program, storage=None):
    config = hotline_config(database_url, TESTING=True, HOTLINE_PROGRAM=program)
    if storage:
        config["HOTLINE_RATE_LIMIT_STORAGE"] = storage
    app = create_app(config, transport=transport, environ={})
    rt = runtime(app)
    rt.program = dataclasses.replace(rt.program, sending=unpaced())  # the cap is tested here, not the pace
    rt.db.create_all()
    return app


def close(app) -> None:
    throttle(app).close()
    runtime(app).db.dispose()


@pytest.fixture
def limited(database_url, transport, tmp_path, storage):
    """An app that answers 3 texts and 2 calls per number per 10 minutes."""
    program = program_with(tmp_path, texts_per_sender_per_10min=3, calls_per_sender_per_10min=2)
    app = make_app(database_url, transport, program, storage)
    yield app
    close(app)


def stored(rt) -> tuple[int, int]:
    with rt.db.reading() as session:
        inbound = session.exec(select(func.count()).select_from(InboundMessage)).one()
        conversations = session.exec(select(func.count()).select_from(Conversation)).one()
    return inbound, conversations


def test_a_flood_from_one_number_gets_an_empty_answer_and_writes_nothing(limited, caplog):
    rt, twilio, flooder = runtime(limited), Twilio(limited.test_client()), number()
    for _ in range(3):
        assert twilio.text("hi", sender=flooder)  # the menu, each time
    before = stored(rt)
    with caplog.at_level(logging.INFO):
        response = twilio.post("/twilio/sms", sms_params("hi", sender=flooder))
        again = twilio.post("/twilio/sms", sms_params("2", sender=flooder))
    for answer in (response, again):
        assert answer.status_code == 200  # never 429: Twilio would log an error and retry
        assert answer.mimetype == "text/xml"
        assert twiml_messages(answer.get_data(as_text=True)) == []
    assert stored(rt) == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert rt.pseudonyms.of(flooder)[:8] in logged
    assert flooder not in logged and flooder[2:] not in logged
    assert rt.pseudonyms.of(flooder) not in logged  # a prefix only
    # Another number is not held back by the flood.
    assert twilio.text("hi", sender=number())


def test_a_throttled_emergency_text_still_gets_911_without_a_write(limited, transport):
    rt, twilio, sender = runtime(limited), Twilio(limited.test_client()), number()
    add_roster(rt, officers=())
    for _ in range(3):
        twilio.text("hi", sender=sender)
    before = stored(rt)
    with rt.db.reading() as session:
        queued = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    answer = twilio.text("my friend is not breathing", sender=sender)
    assert len(answer) == 1 and "911" in answer[0].split(".")[1]
    assert "sergeant" not in answer[0]  # nobody was told: no false promise
    spanish = twilio.text("SOBREDOSIS", sender=sender)
    assert spanish == [rt.catalog.render("service_unavailable", "es")]
    assert stored(rt) == before
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == queued


def test_active_staff_are_never_throttled(limited):
    rt, twilio = runtime(limited), Twilio(limited.test_client())
    add_roster(rt, officers=())
    answers = [twilio.text("ROSTER", sender=SERGEANT) for _ in range(5)]
    assert all(len(answer) == 1 and answer[0] for answer in answers)
    assert stored(rt)[0] == 5  # each command handled (and logged for retries) once


def test_the_count_starts_again_in_the_next_window():
    from hotline.plumbing.program import Limits
    from hotline.plumbing.throttle import MemoryCounter, Throttle

    gate = Throttle(MemoryCounter(), Limits(texts_per_sender_per_10min=2))
    start = 1_800_000_000.0
    assert [gate.admits("sms", "abc", now=start + s) for s in (0, 1, 2)] == [True, True, False]
    assert gate.admits("sms", "abc", now=start + 600)
    assert gate.admits("call", "abc", now=start + 2)  # calls count apart from texts


def test_a_pseudonym_prefix_of_digits_only_survives_the_log_masking(caplog):
    from hotline.plumbing.privacy import scrub
    from hotline.plumbing.program import Limits
    from hotline.plumbing.throttle import MemoryCounter, Throttle

    gate = Throttle(MemoryCounter(), Limits(texts_per_sender_per_10min=1))
    with caplog.at_level(logging.WARNING):
        gate.admits("sms", "44044491" + "ab" * 28)
        gate.admits("sms", "44044491" + "ab" * 28)
    logged = scrub(caplog.records[-1].getMessage())
    assert "ps_44044491" in logged, "the sergeant can still tell one flood from another"


def test_a_throttled_call_hears_911_first_and_a_goodbye(limited):
    rt, twilio = runtime(limited), Twilio(limited.test_client())
    caller = number()
    for _ in range(2):
        assert Caller(twilio, rt, number=caller).dial_in().gather is not None
    heard = Caller(twilio, rt, number=caller).dial_in()
    assert heard.gather is None and heard.hangs_up
    assert "911" in heard.said[0]
    assert rt.program.hq_address in heard.text
    # Withheld numbers all look alike: they share a count of their own, far larger than one number's.
    for _ in range(4):
        assert Caller(twilio, rt, number="anonymous").dial_in().gather is not None


def test_redis_counts_across_processes(database_url, transport, tmp_path):
    require(redis_up(), f"Redis is not reachable at {REDIS_URL}")
    program = program_with(tmp_path, texts_per_sender_per_10min=2)
    one = make_app(database_url, transport, program, REDIS_URL)
    two = make_app(database_url, transport, program, REDIS_URL)
    try:
        sender = number()
        assert Twilio(one.test_client()).text("hi", sender=sender)
        assert Twilio(two.test_client()).text("1", sender=sender)
        assert Twilio(one.test_client()).text("hi", sender=sender) == []
        assert Twilio(two.test_client()).text("hi", sender=sender) == []
    finally:
        close(one)
        close(two)


def test_unreachable_redis_lets_texts_through_fast(database_url, transport, tmp_path, caplog):
    program = program_with(tmp_path, texts_per_sender_per_10min=1)
    app = make_app(database_url, transport, program, "redis://127.0.0.1:1/0")
    try:
        twilio = Twilio(app.test_client())
        started = time.monotonic()
        with caplog.at_level(logging.ERROR):
            for _ in range(3):
                assert twilio.text("hi", sender=number())
        assert time.monotonic() - started < 3
        assert any("throttle storage failed" in r.getMessage() for r in caplog.records)
    finally:
        close(app)


@pytest.mark.parametrize("value", ["0", "-5", "2.5", "true", '"30"'])
def test_a_wrong_limit_fails_at_start(tmp_path, value):
    with pytest.raises(ConfigError, match="limits"):
        load_program(program_with(tmp_path, outbound_texts_per_hour=value))


# -- outbound cap ----------------------------------------------------------------------------


@pytest.fixture
def capped(database_url, transport, tmp_path):
    """An app whose worker sends at most 3 texts an hour."""
    app = make_app(database_url, transport, program_with(tmp_path, outbound_texts_per_hour=3))
    yield app
    close(app)


def test_texts_beyond_the_hourly_cap_wait_and_the_sergeant_is_told_once(capped, transport):
    from hotline.plumbing import outbox

    rt = runtime(capped)
    add_roster(rt, officers=())
    with rt.db.unit_of_work() as session:
        for index in range(5):
            outbox.enqueue(
                session, rt, to=number(), body=f"update {index}", audience="participant", purpose="update"
            )
        session.commit()
    # Ten past the next hour: both passes fall in one clock hour, whatever time the test runs.
    now = (utcnow() + timedelta(hours=1)).replace(minute=10, second=0, microsecond=0)
    jobs.run_once(rt, now=now)
    jobs.run_once(rt, now=now + timedelta(minutes=5))
    to_participants = [s for s in transport.sent if s["to"] != SERGEANT]
    alerts = [s for s in transport.sent if s["to"] == SERGEANT]
    assert len(to_participants) == 3
    assert len(alerts) == 1 and "3 texts" in alerts[0]["body"]
    with rt.db.reading() as session:
        waiting = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert len(waiting) == 2  # waiting, not dropped
    # Once the hour since those went out has passed, the rest go.
    jobs.run_once(rt, now=now + timedelta(minutes=67))
    assert len([s for s in transport.sent if s["to"] != SERGEANT]) == 5
    assert len([s for s in transport.sent if s["to"] == SERGEANT]) == 1


WITHHELD = ["anonymous", "client:alice", "Restricted", "", "+18165550100;ext=9", "UNKNOWN"]


@pytest.fixture
def shared_count_fresh(limited):
    """Start the withheld callers' shared count at zero (Redis keeps it between tests and runs)."""
    client = getattr(throttle(limited).counter, "_client", None)
    if client is not None:
        for key in client.scan_iter(f"hotline:throttle:*:{SHARED}:*"):
            client.delete(key)
    return limited


def test_withheld_and_odd_callers_share_one_generous_count(shared_count_fresh):
    limited = shared_count_fresh
    rt, twilio = runtime(limited), Twilio(limited.test_client())
    shared = 2 * SHARED_SENDERS  # calls_per_sender_per_10min = 2
    heard = [Caller(twilio, rt, number=WITHHELD[i % len(WITHHELD)]).dial_in() for i in range(shared + 1)]
    assert all(h.gather is not None for h in heard[:shared]), "generous: many withheld callers reach the menu"
    last = heard[-1]
    assert last.gather is None and last.hangs_up and "911" in last.said[0], "then 911 first and a goodbye"
    assert Caller(twilio, rt, number=number()).dial_in().gather is not None, (
        "a caller with a number is not held"
    )


def test_withheld_texts_share_one_count_and_an_emergency_is_still_answered(shared_count_fresh):
    twilio = Twilio(shared_count_fresh.test_client())
    shared = 3 * SHARED_SENDERS  # texts_per_sender_per_10min = 3
    for i in range(shared):
        assert twilio.text("hi", sender=f"client:caller{i}")
    assert twilio.text("hi", sender="client:another") == []
    answer = twilio.text("my friend is not breathing", sender="anonymous")
    assert len(answer) == 1 and "911" in answer[0]


def test_withheld_callers_ring_the_officers_only_within_the_shared_count(shared_count_fresh):
    from hotline.services import roster

    limited = shared_count_fresh
    rt, twilio = runtime(limited), Twilio(limited.test_client())
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Ofc. Chen", phone="+18165550101").on_duty = True
        session.commit()
    callers = [Caller(twilio, rt, number="anonymous") for _ in range(2 * SHARED_SENDERS - 1)]
    assert all(caller.dial_in().gather is not None for caller in callers)  # the count at 19 of 20
    rung = []
    for caller in callers[:4]:
        caller.press("1")
        rung.append(caller.press("3").dialled)  # "talk to someone now" counts too
    assert rung[0] == "+18165550101", "within the count, the officers on duty are rung"
    assert "+18165550101" not in rung[1:], "beyond it, the desk instead of the officers"
    assert all(rung[1:]), "the caller still reaches a person"
