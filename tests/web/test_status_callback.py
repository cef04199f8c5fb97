"""POST /twilio/status: delivery reports are recorded once, in order, and never refused."""

from sqlmodel import select

from hotline.plumbing import outbox
from models import OutboxMessage


def queue_sent_message(rt, sid="SM" + "d" * 32):
    with rt.db.unit_of_work() as session:
        row = outbox.enqueue(
            session, rt, to="+18165550101", body="ride offer", audience="staff", purpose="offer"
        )
        row.status, row.twilio_sid, row.delivery_status = "sent", sid, "queued"
        session.commit()
    return sid


def status(twilio, sid, state, **extra):
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": state, "AccountSid": "AC" + "1" * 32}
    return twilio.post("/twilio/status", {**params, **extra})


def delivery(rt):
    with rt.db.reading() as session:
        row = session.exec(select(OutboxMessage)).one()
        return row.delivery_status, row.error_code


def test_late_sent_does_not_overwrite_delivered(twilio, rt):
    sid = queue_sent_message(rt)
    assert status(twilio, sid, "delivered").status_code == 204
    assert status(twilio, sid, "sent").status_code == 204
    assert status(twilio, sid, "delivered").status_code == 204
    assert delivery(rt) == ("delivered", None)


def test_failure_code_is_kept(twilio, rt):
    sid = queue_sent_message(rt)
    status(twilio, sid, "failed", ErrorCode="30003")
    status(twilio, sid, "delivered")
    assert delivery(rt) == ("failed", "30003")


def test_unknown_sid_status_or_empty_form_is_accepted(twilio):
    assert status(twilio, "SM" + "e" * 32, "delivered").status_code == 204
    assert status(twilio, "SM" + "e" * 32, "exploded").status_code == 204
    assert twilio.post("/twilio/status", {"AccountSid": "AC" + "1" * 32}).status_code == 204


def test_unsigned_status_is_refused(client, rt):
    sid = queue_sent_message(rt)
    response = client.post("/twilio/status", data={"MessageSid": sid, "MessageStatus": "failed"})
    assert response.status_code == 403
    assert delivery(rt) == ("queued", None)
