"""A pretend phone that talks to the hotline through its real, signed webhooks."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import datetime

from flask import Flask
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from hotline.runtime import Runtime, runtime
from models import Officer, OutboxMessage
from models.clock import utcnow


class SimulatorError(RuntimeError):
    """The hotline could not be reached or answered with an error."""


def signed_form(rt: Runtime, path: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Return the public URL of a path and the headers Twilio would send with these params."""
    url = rt.public_url(path)
    signature = RequestValidator(rt.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, params)
    return url, {"X-Twilio-Signature": signature}


def message_texts(twiml: str) -> list[str]:
    """Return the texts of the <Message> verbs in a TwiML document."""
    root = ElementTree.fromstring(twiml)
    return [message.text or "" for message in root.iter("Message")]


class Phone:
    """A participant's phone texting the hotline (in-process, or over HTTP to a running one)."""

    def __init__(self, app: Flask, number: str, base_url: str | None = None):
        self.app, self.number, self.base_url = app, number, base_url
        self.rt = runtime(app)
        self.since = utcnow()

    def send(self, text: str) -> list[str]:
        """Text the hotline; return its answer, then anything it sent this number since."""
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": self.rt.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
            "From": self.number,
            "To": self.rt.hotline_number,
            "Body": text,
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
        texts = message_texts(self._post("/twilio/sms", params))
        if self.base_url is None:
            from hotline import worker

            worker.run_once(self.rt)
        return texts + [f"(later) {t}" for t in self.later_texts()]

    def later_texts(self) -> list[str]:
        """Return texts the hotline queued for this number since the last look."""
        to_hash = self.rt.pseudonyms.of(self.number)
        with self.rt.db.reading() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.to_hash == to_hash, OutboxMessage.created_at > self.since)
                .order_by(col(OutboxMessage.id))
            ).all()
        if rows:
            self.since = max(row.created_at for row in rows)
        return [self.rt.vault.open(row.body_sealed) or "" for row in rows if row.kind == "sms"]

    def _post(self, path: str, params: dict[str, str]) -> str:
        url, headers = signed_form(self.rt, path, params)
        if self.base_url is None:
            response = self.app.test_client().post(path, data=params, headers=headers)
            if response.status_code != 200:
                raise SimulatorError(f"the hotline answered HTTP {response.status_code}")
            return response.get_data(as_text=True)
        target = self.base_url.rstrip("/") + path
        request = urllib.request.Request(
            target, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.read().decode()
        except (urllib.error.URLError, OSError) as error:
            raise SimulatorError(f"could not reach {target}: {error}") from None


def outbox_lines(session: Session, rt: Runtime, *, limit: int, show_text: bool) -> list[str]:
    """Describe the newest outbox rows, oldest first; texts only when asked (local transport)."""
    rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
    names = {o.id: o.name for o in session.exec(select(Officer)).all()}
    lines = []
    for row in reversed(rows):
        who = names.get(row.officer_id, "?") if row.audience == "staff" else "participant"
        head = f"#{row.id} {_clock(row.created_at)} {row.kind} to {who} [{row.purpose}] {row.status}"
        text = rt.vault.open(row.body_sealed) if show_text and row.kind == "sms" else None
        lines.append(f"{head}\n    {text}" if text else head)
    return lines


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
