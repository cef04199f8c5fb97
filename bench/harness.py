"""What the bench scripts share: signed webhooks and a look at process memory (loopback only)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from twilio.request_validator import RequestValidator

PUBLIC_URL = "https://hotline.example.org"
TOKEN = "bench-auth-token"
HOTLINE_NUMBER = "+18165550000"
#: The account the bench's webhooks come from (the hotline refuses any other when its own is set).
ACCOUNT_SID = "AC" + "1" * 32


def settings(**extra: str) -> dict[str, str]:
    """Return production settings for a hotline on loopback (local transport, a fresh key)."""
    return {
        "HOTLINE_ENV": "production",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": HOTLINE_NUMBER,
        "HOTLINE_PUBLIC_URL": PUBLIC_URL,
        "HOTLINE_SECRET_KEY": "bench-secret-" + "0123456789abcdef" * 2,
        "HOTLINE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "HOTLINE_TRANSPORT": "local",
        **extra,
    }


def signed_sms(body: str, sender: str) -> tuple[dict[str, str], str]:
    """Return the form Twilio posts for a text (its own MessageSid) and its signature."""
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": sender,
        "To": HOTLINE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    return params, RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", params)


def create_database(url: str) -> str | None:
    """Create the database `url` names if the server lacks it; return why the server did not answer."""
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        conn = server.connect()
    except OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    with conn:
        if name and not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f"CREATE DATABASE {server.dialect.identifier_preparer.quote_identifier(name)}"))
    server.dispose()
    return None


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Return a process's child process ids (gunicorn's workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Return a process's resident memory (VmRSS) or its peak (VmHWM) in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
