"""Pseudonyms, encryption and log hygiene for everything that could identify a participant.

Logs carry SIDs and internal ids only (docs/privacy.md). `install_log_scrubbing` puts a net under
that rule for every logger of the process: phone-number-like digits are masked everywhere, and
while a Twilio request is being answered every value it posted (the number, the body, the place
typed into it, Twilio's geographic fields) is masked too, except the few fields that identify no
one (PUBLIC_FIELDS). Outside a request, `masking(...)` names the values to mask (the worker masks
the number and text it is sending).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEFAULT_REGION = "US"
# A North American number already in E.164, as Twilio posts every sender: it is its own normal
# form (a test checks this against phonenumbers), so the parse, a twentieth of a turn, is skipped.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")


#: A phone number exactly as Twilio posts one: "+" and 7 to 15 digits, nothing before or after.
_PLAIN_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def is_plain_number(raw: str | None) -> bool:
    """Tell whether a sender is a bare E.164 number (no channel prefix, extension, space or dash)."""
    return bool(raw) and _PLAIN_E164.fullmatch(raw) is not None


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the E.164 form of a phone number, or None when it is not one."""
    text = (raw or "").strip()
    if _NANP_E164.fullmatch(text):
        return text
    if not text or not any(ch.isdigit() for ch in text):
        return None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: Numbers that can take a text: a mobile, or (as in the US) a number that may be one.
TEXTABLE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


def textable_number(raw: str | None) -> str | None:
    """Return the caller's number in E.164 if it could take a text (a possible mobile), else None."""
    text = (raw or "").strip()
    number = normalise_phone(text) if text.startswith("+") else None
    if number is None:
        return None
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    return number if kind in TEXTABLE else None


def sender_key(raw: str | None) -> str:
    """Return the canonical text of a sender: E.164 where possible, else the trimmed raw value."""
    return normalise_phone(raw) or "raw:" + (raw or "").strip().lower()


class Pseudonyms:
    """Keyed hashes of phone numbers: the same number always maps to the same pseudonym."""

    def __init__(self, secret: str):
        self._key = hashlib.sha256(b"hotline-pseudonym:" + secret.encode()).digest()

    def of(self, raw: str | None) -> str:
        """Return the pseudonym (hex HMAC-SHA256) of a sender's normalised number."""
        return hmac.new(self._key, sender_key(raw).encode(), hashlib.sha256).hexdigest()


class Vault:
    """Authenticated encryption with key rotation: the first key encrypts, every key decrypts.

    The keys are Fernet keys (`hotline keys generate`); each gives an AES-256-GCM key through
    HKDF-SHA256. A sealed text is the urlsafe base64 of

        0x01 | key id (4 bytes) | nonce (12 random bytes) | AES-256-GCM ciphertext and tag

    where the key id is the start of the SHA-256 of the AES key, so opening goes straight to the
    right key, and the first 5 bytes are authenticated as associated data. Texts sealed as Fernet
    tokens (a 0x80 first byte, "gAAAAA..." in base64) by earlier versions still open, and are not
    current: `hotline keys rotate` re-seals them.
    """

    VERSION = b"\x01"  # never Fernet's 0x80, so the first byte tells the formats apart
    INFO = b"hotline vault aes-256-gcm"
    HEADER = 1 + 4  # version and key id, the associated data
    NONCE = 12
    TAG = 16

    def __init__(self, keys: str):
        listed = [k.strip() for k in keys.split(",") if k.strip()]
        if not listed:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in listed])
        self._ciphers: dict[bytes, AESGCM] = {}
        for key in listed:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.INFO)
            secret = hkdf.derive(base64.urlsafe_b64decode(key))
            header = self.VERSION + hashlib.sha256(secret).digest()[: self.HEADER - 1]
            self._ciphers.setdefault(header, AESGCM(secret))
        self._header = next(iter(self._ciphers))  # the first key's: a dict keeps its order
        self._primary = self._ciphers[self._header]

    def seal(self, text: str | None) -> str | None:
        """Encrypt a text (None stays None)."""
        if text is None:
            return None
        return self._seal(text.encode())

    def open(self, token: str | None) -> str | None:
        """Decrypt a sealed text; an unreadable token gives None rather than an error."""
        if token is None:
            return None
        try:
            return self._decrypt(token).decode()
        except InvalidToken:
            return None

    def is_current(self, token: str) -> bool:
        """Tell whether a sealed text is encrypted under the first (newest) key already."""
        data = self._unbase64(token)
        if data is None or data[: self.HEADER] != self._header:
            return False
        try:
            self._open_gcm(self._primary, data)
        except InvalidToken:
            return False
        return True

    def reseal(self, token: str) -> str:
        """Re-encrypt a sealed text under the first (newest) key; InvalidToken if no key reads it."""
        return self._seal(self._decrypt(token))

    def _seal(self, plain: bytes) -> str:
        nonce = os.urandom(self.NONCE)
        sealed = self._primary.encrypt(nonce, plain, self._header)
        return base64.urlsafe_b64encode(self._header + nonce + sealed).decode()

    def _decrypt(self, token: str) -> bytes:
        """Return the plaintext of a token of either format; InvalidToken if no key reads it."""
        data = self._unbase64(token)
        if data is None or data[:1] != self.VERSION:
            # A Fernet token from before, or garbage, which Fernet refuses in the same way.
            return self._fernet.decrypt(token.encode("ascii", "replace"))
        cipher = self._ciphers.get(data[: self.HEADER])
        if cipher is None:
            raise InvalidToken
        return self._open_gcm(cipher, data)

    def _open_gcm(self, cipher: AESGCM, data: bytes) -> bytes:
        if len(data) < self.HEADER + self.NONCE + self.TAG:
            raise InvalidToken
        nonce, sealed = data[self.HEADER : self.HEADER + self.NONCE], data[self.HEADER + self.NONCE :]
        try:
            return cipher.decrypt(nonce, sealed, data[: self.HEADER])
        except InvalidTag:
            raise InvalidToken from None

    @staticmethod
    def _unbase64(token: str) -> bytes | None:
        """Return the bytes of a urlsafe base64 text, or None when it is not one."""
        try:
            return base64.b64decode(token, altchars=b"-_", validate=True)
        except ValueError:  # binascii.Error, or a text that is not ASCII
            return None


# -- log hygiene -----------------------------------------------------------------------------

# Phone numbers as people and programs write them, and nothing else: a "+" (or "%2B") and 7 or more
# digits in any grouping (E.164 and international spellings); ten North American digits, with or
# without a leading 1, grouped 3-3-4 by spaces, dots, dashes or brackets; seven with a dash
# (555-0142). Ports, PIDs, status codes, byte counts, dates and times are other shapes and stay.
_PHONE_LIKE = re.compile(
    r"(?:\+|%2[Bb])\d(?:[\s.()-]{0,2}\d){6,}"
    r"|(?<![\w+])(?:1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)"
    r"|(?<![\w+])\d{3}-\d{4}(?!\w)"
)
# The request line of werkzeug's development-server log: its query string can carry anything.
_REQUEST_QUERY = re.compile(r'("[A-Z]+ [^ ?"]*)\?[^ "]*')

MASK = "[redacted]"
#: Shorter values are not masked: a menu digit, YES, a state code identify no one, and masking
#: "1" or "MO" would garble every line.
MIN_MASKED = 4
#: Fields of Twilio's webhooks that identify no one; every other posted value is masked in logs.
PUBLIC_FIELDS = frozenset(
    {
        "AccountSid",
        "ApiVersion",
        "MessageSid",
        "SmsSid",
        "SmsMessageSid",
        "MessagingServiceSid",
        "CallSid",
        "ParentCallSid",
        "DialCallSid",
        "SmsStatus",
        "MessageStatus",
        "CallStatus",
        "DialCallStatus",
        "NumMedia",
        "NumSegments",
        "Direction",
        "ErrorCode",
        "CallbackSource",
        "SequenceNumber",
        "Timestamp",
        "CallDuration",
        "DialCallDuration",
        "DialBridged",
        "FinishedOnKey",
        "Confidence",
        "StirVerstat",
    }
)
_REQUEST_CACHE = "hotline.log_masks"

_masked: ContextVar[tuple[str, ...]] = ContextVar("hotline_masked", default=())


@contextmanager
def masking(*values: str | None) -> Iterator[None]:
    """Mask these values (a number, a text) in every log record made inside the block."""
    token = _masked.set(_masked.get() + tuple(v for v in values if v))
    try:
        yield
    finally:
        _masked.reset(token)


class Mask:
    """Values to mask in log text as whole words, in any case; the pattern is built when needed.

    Building the pattern costs about ten times what a log line does, and most lines of a request
    hold none of its values: where the text and the values are plain ASCII (where case is only
    A-Z), a line that holds none of them, case folded, cannot match and is passed as it is.
    """

    def __init__(self, variants: list[str]):
        self.variants = variants  # the longest first: no half-masked values
        self._ascii = all(v.isascii() for v in variants)
        self._lowered = [v.lower() for v in variants]
        self._pattern: re.Pattern[str] | None = None

    def apply(self, text: str) -> str:
        """Return the text with every value replaced by MASK."""
        if self._ascii and text.isascii():
            lowered = text.lower()
            if not any(v in lowered for v in self._lowered):
                return text
        if self._pattern is None:
            alternatives = "|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in self.variants)
            self._pattern = re.compile(alternatives, re.IGNORECASE)
        return self._pattern.sub(MASK, text)


def mask_pattern(values: Iterable[str]) -> Mask | None:
    """Return a mask matching each value (and its lines, spaces folded) as whole words."""
    variants = set()
    for value in values:
        for variant in (value, " ".join(value.split()), *value.splitlines()):
            variant = variant.strip()
            if len(variant) >= MIN_MASKED:
                variants.add(variant)
    if not variants:
        return None
    return Mask(sorted(variants, key=len, reverse=True))


def scrub(text: str, pattern: Mask | None = None) -> str:
    """Mask anything that looks like a phone number, and whatever the mask matches."""
    if pattern is not None:
        text = pattern.apply(text)
    return _PHONE_LIKE.sub("[number]", text)


def _request_values() -> list[str]:
    """Return what the current Twilio request posted, but for the fields that identify no one."""
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - Flask is a dependency
        return []
    if not has_request_context():
        return []
    # Only a form that was parsed already: parsing from inside a log call could raise (413).
    form = request.__dict__.get("form")
    if not form:
        return []
    return [value for name, values in form.lists() if name not in PUBLIC_FIELDS for value in values]


def _current_pattern() -> Mask | None:
    """Return the mask for this moment: the request's posted values and any `masking` block."""
    extra = _masked.get()
    try:
        from flask import has_request_context, request

        in_request = has_request_context()
    except ImportError:  # pragma: no cover
        in_request = False
    if not in_request:
        return mask_pattern(extra) if extra else None
    cache = request.environ.setdefault(_REQUEST_CACHE, {})
    key = ("form" in request.__dict__, extra)
    if key not in cache:
        cache[key] = mask_pattern([*_request_values(), *extra])
    return cache[key]


_exception_formatter = logging.Formatter()


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask numbers and posted values in a record's message, traceback and stack, in place."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's problem to report, not ours
        return record
    pattern = _current_pattern()
    clean = _REQUEST_QUERY.sub(r"\1", message) if record.name == "werkzeug" else message
    clean = scrub(clean, pattern)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text, so the traceback is formatted (and masked) once, here.
        record.exc_text = scrub(_exception_formatter.formatException(record.exc_info), pattern)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info, pattern)
    return record


class ScrubbingFilter(logging.Filter):
    """A logging filter that masks records (for handlers fed by another record factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def install_log_scrubbing() -> None:
    """Mask numbers, and the values of the Twilio request at hand, in every log record, once.

    A record factory sees records from every logger (a filter on the root logger would miss
    records propagated from children, and a handler's filter those of other handlers).
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "scrubs", False):
        return

    def scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
        return scrub_record(factory(*args, **kwargs))

    scrubbing_factory.scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbing_factory)
