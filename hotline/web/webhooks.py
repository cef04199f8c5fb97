"""Twilio webhooks: check the signature, turn the form into an event, answer with TwiML.

The only module that knows Twilio's form field names. No business rule lives here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import unicodedata
from collections.abc import Callable
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, g, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.exc import SQLAlchemyError
from twilio.request_validator import add_port, remove_port
from werkzeug.datastructures import MultiDict

from hotline.plumbing import db, observability, outbox, throttle
from hotline.plumbing.runtime import runtime
from hotline.services import conversation

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

FORM = "application/x-www-form-urlencoded"
# Twilio caps an SMS body at 1600 characters; anything longer is not from Twilio's messaging.
MAX_BODY = 1600


class Sessions(SecureCookieSessionInterface):
    """The dashboard's cookie sessions, never opened for Twilio's webhooks (no cookie, no use)."""

    def open_session(self, app, request):
        if request.path.startswith(bp.url_prefix + "/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def twilio_signed(view: Callable) -> Callable:
    """Refuse (403, empty body, nothing written) any request Twilio did not sign."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if request.mimetype != FORM:
            abort(Response(status=415))
        rt = runtime()
        if request.headers.get("X-Twilio-Webhooks-Signature-Settings"):
            # Signed with a shared key we were never given: fail closed and say so.
            log.warning("webhook signed with unsupported settings on %s", request.path)
            abort(Response(status=403))
        # The URL exactly as Twilio requested it: configured public base + raw path and query.
        url = rt.public_url(request.path)
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not signed_by_twilio(
            rt.config["TWILIO_AUTH_TOKEN"], url, request.form, signature
        ):
            log.warning("invalid Twilio signature on %s", request.path)
            abort(Response(status=403))
        return view(*args, **kwargs)

    return checked


def signed_by_twilio(token: str, url: str, form: MultiDict, signature: str) -> bool:
    """Tell whether `signature` is Twilio's for this URL and form, as twilio-python validates it.

    HMAC-SHA1 under the auth token of the URL followed by every field name and value, sorted;
    the URL as configured, then with the port Twilio's signing may have added or left out. The
    form is joined once, and the second URL hashed only when the first does not match.
    """
    fields = "".join(
        name + value for name in sorted(form.keys()) for value in sorted(set(form.getlist(name)))
    )
    given = signature.encode("utf-8", "replace")
    key = token.encode()
    for candidate in _signed_urls(url):
        mac = hmac.new(key, (candidate + fields).encode(), hashlib.sha1)
        if hmac.compare_digest(base64.b64encode(mac.digest()), given):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _signed_urls(url: str) -> tuple[str, str]:
    """The URL without and with its port, as Twilio may have signed it (our own routes only)."""
    parsed = urlparse(url)
    return remove_port(parsed), add_port(parsed)


def twiml(response) -> Response:
    """Return a TwiML document with Twilio's content type."""
    return Response(str(response), mimetype="text/xml")


_XML = '<?xml version="1.0" encoding="UTF-8"?>'


def messages(texts: list[str]) -> Response:
    """Return TwiML that sends each text (none: an empty response).

    Written out, character for character what twilio-python's MessagingResponse makes of the
    same texts (a test holds them equal), without an element tree for every answer.
    """
    if not texts:
        return Response(_XML + "<Response />", mimetype="text/xml")
    body = "".join(f"<Message>{_xml_text(text)}</Message>" if text else "<Message />" for text in texts)
    return Response(f"{_XML}<Response>{body}</Response>", mimetype="text/xml")


def _xml_text(text: str) -> str:
    """Escape a text for an XML element's content (as ElementTree does)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    )
    rt = runtime()
    sender_hash = rt.pseudonyms.of(inbound.sender)
    if not throttle.admits_text(rt, sender_hash):
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
@twilio_signed
def status() -> Response:
    """Record a message or call status callback; answers 204 (no content) for any SID or status."""
    form = request.form
    sid = form.get("MessageSid") or form.get("CallSid") or ""
    state = form.get("MessageStatus") or form.get("CallStatus") or ""
    if sid and state:
        rt = runtime()

        def record() -> None:
            with rt.db.unit_of_work() as session:
                outbox.record_status(session, sid=sid, status=state, error_code=form.get("ErrorCode"), rt=rt)
                session.commit()

        try:
            db.once_more_if_dropped(record, f"recording status of {sid}")
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


def report_after(response: Response, code: str) -> None:
    """Alert the sergeant about Twilio's fallback once the static answer has gone out."""
    rt = runtime()
    response.call_on_close(lambda: observability.report_webhook_error(rt, code or "unknown"))


def printable(text: str) -> str:
    """Drop characters XML (and so TwiML) cannot carry, keeping line breaks and tabs."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in "\ufffe\uffff")
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
