"""What every Twilio webhook shares: the signature check, TwiML and message answers, the fallback's alert."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import urlparse

from flask import Response, abort, request
from twilio.request_validator import add_port, remove_port
from werkzeug.datastructures import MultiDict

from hotline.plumbing import observability
from hotline.plumbing.runtime import runtime

log = logging.getLogger(__name__)


FORM = "application/x-www-form-urlencoded"


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
        wrong = malformed_field(request.form, rt.config.get("TWILIO_ACCOUNT_SID"))
        if wrong:
            log.warning("Twilio request with a malformed %s on %s refused", wrong, request.path)
            abort(Response(status=403))
        return view(*args, **kwargs)

    return checked


#: Twilio's SIDs, field by field: two letters and 32 hex digits. The signature joins names and
#: values with no separator, so "MessageSid=SM…&NumMedia=0" signs exactly as "MessageSid=SM…NumMedia0":
#: only the strict shape of every SID keeps a captured request from being replayed as a new one.
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
SID_FIELDS = {
    "MessageSid": MESSAGE_SID,
    "SmsSid": MESSAGE_SID,
    "SmsMessageSid": MESSAGE_SID,
    "CallSid": CALL_SID,
    "ParentCallSid": CALL_SID,
    "DialCallSid": CALL_SID,
    "AccountSid": ACCOUNT_SID,
}


def malformed_field(form: MultiDict, account_sid: str | None) -> str | None:
    """Name the first SID field that is not as Twilio writes it (or not our account's); None if all are.

    Without a configured account (the local transport of development and tests) any well-formed
    account SID is taken; with one, only ours.
    """
    for name, shape in SID_FIELDS.items():
        values = form.getlist(name)
        if len(values) > 1 or (values and not shape.fullmatch(values[0])):
            return name
    if account_sid and form.get("AccountSid") != account_sid:
        return "AccountSid"
    return None


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
