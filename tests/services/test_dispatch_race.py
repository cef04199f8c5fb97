"""Two officers ACCEPT the same ride at the same instant from two real processes: one winner, 100 times.

Escalation pages one officer at a time, so two live offers for one ride are rare in practice;
each round here gives both officers a live offer on purpose (`dispatch.offer`) and releases
both ACCEPTs together through a barrier, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing

import pytest
from sqlmodel import col, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.services import dispatch
from models import Conversation, Dispatch, Offer, Officer
from models.clock import utcnow
from tests.dispatch_helpers import CHEN, OKAFOR, add_roster, code_for
from tests.support import Twilio, hotline_config

pytestmark = pytest.mark.slow
FORK = multiprocessing.get_context("fork")
ROUNDS = 100


def _officer_process(url, number, orders, barrier, results):
    """Answer each round's offer with ACCEPT as soon as the other officer is ready too."""
    app = create_app(hotline_config(url), environ={})
    twilio = Twilio(app.test_client())
    while True:
        order = orders.get(timeout=120)
        if order is None:
            break
        round_, code = order
        barrier.wait(timeout=60)
        results.put((round_, number, twilio.text(f"ACCEPT {code}", sender=number)))
    runtime(app).db.dispose()


def _new_ride(rt, round_) -> tuple[int, dict[str, str]]:
    """Open a ride that both officers hold a live offer for; return its id and their codes."""
    now = utcnow()
    with rt.db.unit_of_work() as session:
        conversation = Conversation(sender_hash=f"race-{round_}", created_at=now, updated_at=now)
        session.add(conversation)
        session.flush()
        ride = dispatch.open_request(
            session, rt, conversation, kind="ride", language="en", answers={"consent": "no"}, now=now
        )
        holders = set(session.exec(select(Offer.officer_id).where(Offer.dispatch_id == ride.id)).all())
        codes = {}
        for officer in session.exec(select(Officer).where(col(Officer.is_sergeant).is_(False))).all():
            if officer.id not in holders:
                number = rt.vault.open(officer.phone_sealed)
                codes[number] = dispatch.offer(session, rt, ride, officer, now=now)
        session.commit()
        ride_id = ride.id
    for number in (CHEN, OKAFOR):
        codes.setdefault(number, code_for(rt, number))
    return ride_id, codes


def test_two_officers_accepting_at_once_have_exactly_one_winner(rt, database_url):
    ids = add_roster(rt, officers=("Ofc. Chen", "Ofc. Okafor"))
    barrier, results = FORK.Barrier(2), FORK.Queue()
    orders = {CHEN: FORK.Queue(), OKAFOR: FORK.Queue()}
    processes = [
        FORK.Process(target=_officer_process, args=(database_url, number, orders[number], barrier, results))
        for number in (CHEN, OKAFOR)
    ]
    for process in processes:
        process.start()
    rides, answers = {}, {}
    try:
        for round_ in range(ROUNDS):
            ride_id, codes = _new_ride(rt, round_)
            rides[round_] = ride_id
            for number in (CHEN, OKAFOR):
                orders[number].put((round_, codes[number]))
            for _ in range(2):
                got_round, number, replies = results.get(timeout=120)
                answers.setdefault(got_round, {})[number] = replies[0]
    finally:
        for queue in orders.values():
            queue.put(None)
        for process in processes:
            process.join(60)
    assert [p.exitcode for p in processes] == [0, 0]

    by_number = {CHEN: ids["Ofc. Chen"], OKAFOR: ids["Ofc. Okafor"]}
    winners = []
    with rt.db.reading() as session:
        for round_, ride_id in rides.items():
            ride = session.get(Dispatch, ride_id)
            said = answers[round_]
            won = [n for n, reply in said.items() if "is yours" in reply]
            lost = [n for n, reply in said.items() if "already taken by another officer" in reply]
            assert len(won) == 1 and len(lost) == 1, (round_, said)
            assert (ride.status, ride.officer_id) == ("accepted", by_number[won[0]])
            statuses = sorted(
                o.status for o in session.exec(select(Offer).where(Offer.dispatch_id == ride_id))
            )
            assert statuses == ["accepted", "withdrawn"], (round_, statuses)
            winners.append(won[0])
    assert len(winners) == ROUNDS
