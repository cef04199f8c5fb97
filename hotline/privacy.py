"""Pseudonyms, encryption and log hygiene for everything that could identify a participant."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEFAULT_REGION = "US"


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the E.164 form of a phone number, or None when it is not one."""
    text = (raw or "").strip()
    if not text or not any(ch.isdigit() for ch in text):
        return None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
    """Authenticated encryption with key rotation: the first key encrypts, every key decrypts."""

    def __init__(self, keys: str):
        self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])

    def seal(self, text: str | None) -> str | None:
        """Encrypt a text (None stays None)."""
        if text is None:
            return None
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str | None) -> str | None:
        """Decrypt a sealed text; an unreadable token gives None rather than an error."""
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def reseal(self, token: str) -> str:
        """Re-encrypt a sealed text under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


# Digits that look like a phone number: 7 or more digits, allowing separators and a leading +.
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{5,}\d(?!\w)")


def scrub(text: str) -> str:
    """Mask anything that looks like a phone number."""
    return _PHONE_LIKE.sub("[number]", text)


def install_log_scrubbing() -> None:
    """Mask phone-number-like digits in every log record of the process, once.

    A net under the rule of logging SIDs and ids only: a record factory sees records from
    every logger (a filter on the root logger would miss records propagated from children).
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "scrubs", False):
        return

    def scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    scrubbing_factory.scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbing_factory)
