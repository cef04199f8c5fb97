"""Twilio's texting webhooks: an inbound text, a status callback, the fallback; form in, TwiML out.

The only module that knows Twilio's messaging form field names. No business rule lives here.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.exc import SQLAlchemyError

from hotline.plumbing import db, outbox, throttle
from hotline.plumbing.runtime import runtime
from hotline.services import conversation, voice_call
from hotline.web.twilio_webhook import messages, printable, report_after, twilio_signed

log = logging.getLogger(__name__)


bp = Blueprint("twilio", __name__, url_prefix="/twilio")


# Twilio caps an SMS body at 1600 characters; anything longer is not from Twilio's messaging.
MAX_BODY = 1600


class Sessions(SecureCookieSessionInterface):
    """The dashboard's cookie sessions, never opened for Twilio's webhooks (no cookie, no use)."""

    def open_session(self, app, request):
        if request.path.startswith("/twilio/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


@bp.post("/sms")
@twilio_signed
def sms() -> Response:
    """Answer an inbound text with the conversation's next step."""
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    g.sid = sid
    if not sid:
        return messages([])
    inbound = conversation.Inbound(
        sid=sid,
        sender=form.get("From", ""),
        body=printable(form.get("Body", ""))[:MAX_BODY],
        num_media=_int(form.get("NumMedia")),
        to=form.get("To", ""),
    )
    rt = runtime()
    sender_hash = rt.pseudonyms.of(inbound.sender)
    if not throttle.admits_text(rt, inbound.sender, sender_hash):
        # Never a 429: Twilio would log an error and retry. Nothing is written.
        return messages(throttle.throttled_texts(rt, inbound.body))
    try:
        texts = _answer(rt, inbound, sender_hash)
    except SQLAlchemyError:
        log.exception("database failure answering %s", sid)
        texts = [rt.catalog.render("service_unavailable", "en")]
    return messages(texts)


def _answer(rt, inbound: conversation.Inbound, sender_hash: str) -> list[str]:
    """Run the turn; once more if the database dropped the connection it ran on (a restart)."""
    return db.once_more_if_dropped(
        lambda: conversation.handle_sms(rt, inbound, sender_hash=sender_hash), f"answering {inbound.sid}"
    )


@bp.post("/status")
# The path README and docs/voice.md once gave for the number's "Call status changes": numbers set
# by hand to it keep working.
@bp.post("/voice/status")
@twilio_signed
def status() -> Response:
    """Record a message or call status callback, and close a finished call; 204 for any SID or status."""
    form = request.form
    sid = form.get("MessageSid") or form.get("CallSid") or ""
    state = form.get("MessageStatus") or form.get("CallStatus") or ""
    if sid and state:
        rt = runtime()

        def record() -> bool:
            with rt.db.unit_of_work() as session:
                ours = outbox.record_status(
                    session, sid=sid, status=state, error_code=form.get("ErrorCode"), rt=rt
                )
                session.commit()
            return ours

        call_sid = form.get("CallSid", "")
        try:
            ours = db.once_more_if_dropped(record, f"recording status of {sid}")
            # A call to the hotline number (not one the outbox placed) that ended: forget its answers.
            if not ours and call_sid == sid and state.strip().lower() in voice_call.FINISHED:
                db.once_more_if_dropped(lambda: voice_call.close(rt, call_sid), f"closing call {call_sid}")
        except SQLAlchemyError:
            log.exception("database failure recording status of %s", sid)
            return Response(status=503)
    return Response(status=204)


@bp.post("/fallback/sms")
@twilio_signed
def fallback_sms() -> Response:
    """Answer with a static safe text when the main path failed; touches no database."""
    code = printable(request.form.get("ErrorCode", ""))[:12]
    log.error("Twilio used the SMS fallback for %s (error %s)", request.form.get("MessageSid", ""), code)
    response = messages([runtime().catalog.render("service_unavailable", "en")])
    report_after(response, code)
    return response


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
