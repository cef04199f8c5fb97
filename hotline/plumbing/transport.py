"""Outbound transport: the only module that talks to Twilio's REST API.

Every failure comes out as a TransportError whose `kind` tells the worker what retrying means:

- ``retryable``: Twilio never processed the request (HTTP 429 / 20429, a 5xx response, 30500,
  or no connection was made at all), so sending again cannot duplicate anything.
- ``ambiguous``: the request may have reached Twilio but no answer came back (a read timeout,
  a connection dropped mid-request), so sending again may duplicate the message.
- ``final``: Twilio refused this message for good (opted out, invalid or landline number, ...).

Nothing here logs a phone number or a message body: Twilio's own error messages quote the
number, so they are dropped and only the error code and HTTP status are kept.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from hotline.plumbing.config import ConfigError

if TYPE_CHECKING:
    # The REST client and its HTTP stack load with the first request to Twilio, in the process
    # that sends (the worker): web processes, which only answer webhooks, start without them.
    import requests
    from twilio.http import HttpClient
    from twilio.rest import Client

#: Seconds to wait for Twilio's REST API (connect and each read); twilio-python has no default.
DEFAULT_TIMEOUT = 10.0

RETRYABLE, AMBIGUOUS, FINAL = "retryable", "ambiguous", "final"

#: 20429: too many requests, "never processed and always safe to retry"; 30500: internal error.
RETRYABLE_CODES = frozenset({20429, 30500})
#: Codes that mean this recipient cannot get texts from us at all (STOP, invalid, landline).
UNREACHABLE_CODES = frozenset({21211, 21612, 21614, 21610, 30006})


@dataclass(frozen=True)
class Sent:
    """What Twilio answered for an accepted message or call."""

    sid: str
    status: str


@dataclass(frozen=True)
class NumberSettings:
    """Where Twilio sends a hotline number's texts, calls and status reports."""

    sid: str
    phone_number: str
    sms_url: str | None = None
    sms_fallback_url: str | None = None
    voice_url: str | None = None
    voice_fallback_url: str | None = None
    status_callback: str | None = None


class TransportError(Exception):
    """Twilio did not take a message or call; `kind` says whether a retry is safe."""

    def __init__(
        self,
        kind: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        reason: str = "",
    ):
        if kind not in (RETRYABLE, AMBIGUOUS, FINAL):
            raise ValueError(f"unknown TransportError kind {kind!r}")
        self.kind = kind
        self.code = code
        self.http_status = http_status
        self.reason = reason
        super().__init__(self._describe())

    @property
    def retryable(self) -> bool:
        return self.kind == RETRYABLE

    @property
    def ambiguous(self) -> bool:
        return self.kind == AMBIGUOUS

    @property
    def final(self) -> bool:
        return self.kind == FINAL

    def _describe(self) -> str:
        parts = [f"{self.kind} transport error"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.reason:
            parts.append(self.reason)
        return ", ".join(parts)


def classify(code: int | None, http_status: int | None) -> str:
    """Return the kind of a Twilio error response from its error code and HTTP status."""
    if code in RETRYABLE_CODES or http_status == 429:
        return RETRYABLE
    if http_status is not None and 500 <= http_status <= 599:
        return RETRYABLE
    return FINAL


def error_from_response(error: TwilioRestException | TwilioServiceException) -> TransportError:
    """Turn twilio-python's error into a TransportError, dropping Twilio's message text."""
    http_status = _int_or_none(error.status)
    code = _int_or_none(error.code)
    if code == http_status:
        # twilio-python puts the HTTP status in `code` when the body carried no Twilio code.
        code = None
    return TransportError(classify(code, http_status), code=code, http_status=http_status)


def error_from_network(error: requests.RequestException) -> TransportError:
    """Turn a failed HTTP exchange into a TransportError: retryable only if nothing was sent."""
    import requests

    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        # No TCP/TLS session was set up, so the request never left this host.
        return TransportError(RETRYABLE, reason=type(error).__name__)
    if isinstance(error, requests.ConnectionError) and _refused(error):
        return TransportError(RETRYABLE, reason="connection failed")
    # A read timeout or a connection dropped after the request went out: Twilio may have it.
    return TransportError(AMBIGUOUS, reason=type(error).__name__)


def _refused(error: requests.ConnectionError) -> bool:
    """Tell whether requests failed before connecting (refused, unresolvable, unreachable)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


#: Our numbers, as an outbox row names its sender: the hotline number, and TWILIO_STAFF_NUMBER.
MAIN, STAFF = "main", "staff"


class Transport(Protocol):
    """Sends texts and places calls; raises TransportError when Twilio did not take them.

    `sender` names which of our numbers it goes from (MAIN or STAFF); without a staff number
    everything goes from the hotline number.
    """

    def send_sms(self, *, to: str, body: str, status_callback: str | None, sender: str = MAIN) -> Sent: ...

    def place_call(self, *, to: str, twiml: str, status_callback: str | None, sender: str = MAIN) -> Sent: ...

    def redact_message(self, sid: str) -> None: ...


class TwilioTransport:
    """Twilio's REST API through twilio-python, with an explicit timeout and optional base URL."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        staff_number: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: HttpClient | None = None,
    ):
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.account_sid = account_sid
        self.from_number = from_number
        self.staff_number = staff_number or None
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self._auth_token = auth_token
        self._given_http_client = http_client
        self._client: Client | None = None
        self._pid: int | None = None

    @property
    def client(self) -> Client:
        """Return this process's REST client, built on first use.

        Built lazily and per process: a client made before gunicorn forks would share its
        pooled connections with every child (DB-4).
        """
        if self._client is None or self._pid != os.getpid():
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            http_client = self._given_http_client or TwilioHttpClient(timeout=self.timeout)
            client = Client(self.account_sid, self._auth_token, http_client=http_client)
            if self.base_url:
                # Messages and Calls both live on the `api` domain (2010-04-01).
                client.api.base_url = self.base_url
                # TWILIO_EDGE/TWILIO_REGION in the environment would splice themselves into
                # the override's host name (127.0.0.1 -> 127.sydney.au1.0.1).
                client.edge = client.region = None
            self._client, self._pid = client, os.getpid()
        return self._client

    def number_of(self, sender: str) -> str:
        """Return the number a sender name stands for (the hotline number without a staff number)."""
        if sender == STAFF and self.staff_number:
            return self.staff_number
        return self.from_number

    def send_sms(self, *, to: str, body: str, status_callback: str | None, sender: str = MAIN) -> Sent:
        """Send a text from the hotline number, or from the staff number for staff."""
        message = self._call(
            self.client.messages.create,
            to=to,
            from_=self.number_of(sender),
            body=body,
            status_callback=status_callback,
        )
        return Sent(sid=message.sid, status=str(message.status or "queued"))

    def place_call(self, *, to: str, twiml: str, status_callback: str | None, sender: str = MAIN) -> Sent:
        """Call a number from the hotline (or staff) number and play the given TwiML.

        No status_callback_event is sent: Twilio then reports only `completed` (with the
        final CallStatus: completed, busy, no-answer, failed, canceled), which is all the
        worker acts on, since answering is not accepting (only the whisper keypress counts).
        """
        call = self._call(
            self.client.calls.create,
            to=to,
            from_=self.number_of(sender),
            twiml=twiml,
            status_callback=status_callback,
        )
        return Sent(sid=call.sid, status=str(call.status or "queued"))

    def redact_message(self, sid: str) -> None:
        """Erase a sent message's body at Twilio (an update to an empty body is Twilio's way)."""
        self._call(self.client.messages(sid).update, body="")

    def account_status(self) -> str:
        """Return the account's status (active, suspended, closed): proves the credentials work."""
        account = self._call(self.client.api.v2010.accounts(self.account_sid).fetch)
        return str(account.status or "unknown")

    def find_number(self, phone_number: str) -> NumberSettings | None:
        """Return the webhooks of one of the account's numbers, or None if it has no such number."""
        numbers = self._call(self.client.incoming_phone_numbers.list, phone_number=phone_number, limit=20)
        for number in numbers:
            if number.phone_number == phone_number:
                return NumberSettings(
                    sid=number.sid,
                    phone_number=number.phone_number,
                    sms_url=number.sms_url,
                    sms_fallback_url=number.sms_fallback_url,
                    voice_url=number.voice_url,
                    voice_fallback_url=number.voice_fallback_url,
                    status_callback=number.status_callback,
                )
        return None

    def configure_number(self, sid: str, urls: Mapping[str, str]) -> None:
        """Point a number's webhooks (sms_url, voice_url, their fallbacks, status_callback) at us."""
        methods = {f"{name.removesuffix('_url')}_method": "POST" for name in urls if name.endswith("_url")}
        if "status_callback" in urls:
            methods["status_callback_method"] = "POST"
        self._call(self.client.incoming_phone_numbers(sid).update, **urls, **methods)

    def close(self) -> None:
        """Drop this process's pooled connections to Twilio."""
        if self._client is not None:
            session = getattr(self._client.http_client, "session", None)
            if session is not None:
                session.close()
            self._client = None

    def _call(self, method, **params):
        """Call twilio-python, translating every failure into a TransportError."""
        import requests

        params = {name: value for name, value in params.items() if value is not None}
        try:
            return method(**params)
        except (TwilioRestException, TwilioServiceException) as error:
            raise error_from_response(error) from None
        except requests.RequestException as error:
            raise error_from_network(error) from None


class LocalTransport:
    """Sends nothing: the outbox rows are the record that the simulator and `hotline outbox` read."""

    #: No number to hold to a rate (hotline.plumbing.pacing): the simulator answers at once.
    paced = False

    def send_sms(self, *, to: str, body: str, status_callback: str | None, sender: str = MAIN) -> Sent:
        """Pretend to send a text."""
        return Sent(sid="SM" + uuid.uuid4().hex, status="sent")

    def place_call(self, *, to: str, twiml: str, status_callback: str | None, sender: str = MAIN) -> Sent:
        """Pretend to place a call."""
        return Sent(sid="CA" + uuid.uuid4().hex, status="sent")

    def redact_message(self, sid: str) -> None:
        """Nothing to redact: nothing was sent."""


def make_transport(config: Mapping) -> Transport:
    """Build the transport HOTLINE_TRANSPORT names (twilio or local)."""
    choice = config.get("HOTLINE_TRANSPORT") or "local"
    if choice == "local":
        return LocalTransport()
    if choice != "twilio":
        raise ConfigError("HOTLINE_TRANSPORT must be 'twilio' or 'local'.")
    needed = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER")
    missing = [name for name in needed if not config.get(name)]
    if missing:
        raise ConfigError(
            "HOTLINE_TRANSPORT=twilio needs " + ", ".join(missing) + " (see README, 'Deploying')."
        )
    return TwilioTransport(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config["TWILIO_PHONE_NUMBER"],
        staff_number=config.get("TWILIO_STAFF_NUMBER") or None,
        base_url=config.get("TWILIO_API_BASE_URL") or None,
    )
