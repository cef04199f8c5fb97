"""Plain turns: decided from one read, written only if the conversation did not move meanwhile."""

import logging
import threading
import time
from datetime import timedelta

from sqlmodel import func, select

from hotline.plumbing import outbox
from hotline.services import conversation, retention
from hotline.services.conversation import Inbound
from models import Conversation, InboundMessage
from models.clock import utcnow
from tests.dispatch_helpers import (
    CHEN,
    add_roster,
    code_for,
    events,
    request_ride,
    text,
)
from tests.support import PARTICIPANT

OTHER = "+18165550199"


def _stored(rt, sender: str = PARTICIPANT) -> Conversation:
    with rt.db.reading() as session:
        return session.exec(
            select(Conversation).where(Conversation.sender_hash == rt.pseudonyms.of(sender))
        ).one()


def test_a_text_that_lands_while_another_is_decided_is_applied_first_and_neither_is_lost(
    rt, monkeypatch, caplog
):
    text(rt, "hi")
    # The same three texts, one after another, from another sender: what the race must match.
    text(rt, "hi", OTHER)
    text(rt, "MENU", OTHER)
    expected = text(rt, "1", OTHER)

    decide = conversation._decide
    raced = []

    def decide_while_another_text_commits(rt_, inbound, *args):
        if not raced:
            raced.append(inbound.sid)
            # A second worker answers the sender's next text while this one is deciding.
            conversation.handle_sms(rt, Inbound(sid="SM" + "b" * 32, sender=PARTICIPANT, body="MENU"))
        return decide(rt_, inbound, *args)

    monkeypatch.setattr(conversation, "_decide", decide_while_another_text_commits)
    with caplog.at_level(logging.INFO, logger="hotline.services.conversation"):
        answer = conversation.handle_sms(rt, Inbound(sid="SM" + "a" * 32, sender=PARTICIPANT, body="1"))

    assert any("changed meanwhile" in r.getMessage() for r in caplog.records)
    assert answer == expected, "the text is decided again on top of the one that won"
    assert _stored(rt).version == 3
    assert _stored(rt).state == _stored(rt, OTHER).state
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 6


def test_texts_mid_conversation_take_no_lock(rt, monkeypatch):
    text(rt, "hi")

    def locked(*_args, **_kwargs):
        raise AssertionError("a plain turn took the locked path")

    monkeypatch.setattr(conversation, "lock_conversation", locked)
    assert text(rt, "1") and text(rt, "MENU")
    assert _stored(rt).version == 3


def test_a_repeat_of_a_plain_turn_is_answered_from_the_log(rt):
    text(rt, "hi")
    first = text(rt, "1", sid="SM" + "c" * 32)
    again = text(rt, "1", sid="SM" + "c" * 32)
    assert first == again
    assert _stored(rt).version == 2


def test_a_number_added_to_the_roster_after_texting_as_a_participant_gets_staff_commands(rt):
    text(rt, "hi", CHEN)
    add_roster(rt)
    assert text(rt, "hello?", CHEN)[0].startswith("SAFE PASSAGE commands: ACCEPT")
    assert _stored(rt, CHEN).version == 1, "the old conversation is left as it was"


def test_every_change_to_a_conversation_outside_a_turn_moves_its_version(rt):
    """A turn decided before such a change must not write over it (it is decided again)."""
    text(rt, "hi")
    before = _stored(rt).version
    with rt.db.unit_of_work() as session:
        outbox.mark_opted_out(session, rt.pseudonyms.of(PARTICIPANT))
        session.commit()
    assert _stored(rt).version == before + 1

    later = utcnow() + timedelta(days=rt.program.message_days + 1)
    with rt.db.unit_of_work() as session:
        assert retention.purge(session, rt, now=later)["conversation_data"] == 1
        session.commit()
    stored = _stored(rt)
    assert stored.data_sealed is None and stored.version == before + 2


def test_a_text_about_an_open_request_is_decided_locked(rt, monkeypatch):
    """An officer's ACCEPT or the sergeant can move an open request while a turn is decided:
    such turns hold the conversation (and, on PostgreSQL, the request) until they are written."""
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    locked = []
    lock = conversation.lock_conversation

    def recording(*args, **kwargs):
        locked.append(args[1])
        return lock(*args, **kwargs)

    monkeypatch.setattr(conversation, "lock_conversation", recording)
    assert text(rt, "STATUS")  # a turn with no effects of its own, answered from the request
    assert text(rt, "I'm at the back door, red jacket")
    assert locked == [rt.pseudonyms.of(PARTICIPANT)] * 2
    assert ("relay_in", "participant") in events(rt), "the officer gets the text"


def test_an_accept_arriving_while_a_turn_decides_on_its_request_waits_for_it(rt, monkeypatch):
    add_roster(rt)
    request_ride(rt)
    code = code_for(rt, CHEN)
    deciding, decide = threading.Event(), conversation._decide

    def slow(rt_, inbound, *args):
        if inbound.body == "STATUS":
            deciding.set()
            time.sleep(0.3)
        return decide(rt_, inbound, *args)

    monkeypatch.setattr(conversation, "_decide", slow)
    accepted = []

    def officer():
        assert deciding.wait(10)
        text(rt, f"ACCEPT {code}", CHEN)
        accepted.append(time.monotonic())

    other = threading.Thread(target=officer)
    other.start()
    assert text(rt, "STATUS")
    answered = time.monotonic()
    other.join(10)
    assert accepted and accepted[0] > answered - 0.1, "the ACCEPT waited for the turn to be written"


def test_a_plain_turn_whose_log_row_fails_moves_nothing_and_leaves_no_transaction_open(rt, monkeypatch):
    """The write's second half failing (the MessageSid logged under its feet) undoes the first: the
    conversation stays where it was, the text is answered from the log, and the next text goes on."""
    import dataclasses
    import json

    text(rt, "hi")
    sid = "SM" + "d" * 32
    with rt.db.unit_of_work() as session:
        conversation.log_reply(session, sid, None, rt.vault.seal(json.dumps(["logged"])), utcnow())
        session.commit()
    look = conversation._look

    def look_missing_the_log(*args):
        return dataclasses.replace(look(*args), seen_id=None, reply_sealed=None)

    monkeypatch.setattr(conversation, "_look", look_missing_the_log)
    before = _stored(rt)
    assert text(rt, "1", sid=sid) == ["logged"]
    after = _stored(rt)
    assert (after.state, after.version, after.data_sealed) == (
        before.state,
        before.version,
        before.data_sealed,
    )
    monkeypatch.undo()
    assert text(rt, "1")
    assert _stored(rt).version == before.version + 1
