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

from hotline.plumbing import jobs
from hotline.plumbing.runtime import Runtime, runtime
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
            jobs.run_once(self.rt)
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


def sms_form(rt: Runtime, number: str, text: str) -> dict[str, str]:
    """Return the form Twilio posts when a phone texts the hotline."""
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": rt.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
        "From": number,
        "To": rt.hotline_number,
        "Body": text,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }


def call_form(rt: Runtime, number: str, call_sid: str, digits: str | None = None) -> dict[str, str]:
    """Return the form Twilio posts for a call from a phone (with Digits after a keypress)."""
    form = {
        "CallSid": call_sid,
        "AccountSid": rt.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
        "From": number,
        "To": rt.hotline_number,
        "Caller": number,
        "Called": rt.hotline_number,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    if digits is not None:
        form["Digits"] = digits
    return form


def voice_steps(twiml: str) -> dict:
    """Read a voice TwiML document as a phone hears it: what is said, and what happens next.

    Returns {"say": [...], "gather": action URL or None, "redirect": URL or None,
    "dial": bool, "hangup": bool}; verbs after a <Gather>, <Redirect> or <Dial> are not reached.
    """
    root = ElementTree.fromstring(twiml)
    steps: dict = {"say": [], "gather": None, "redirect": None, "dial": False, "hangup": False}
    for verb in root:
        if verb.tag == "Say":
            steps["say"].append((verb.text or "").strip())
        elif verb.tag == "Play":
            steps["say"].append("(a recording plays)")
        elif verb.tag == "Gather":
            steps["say"] += [(say.text or "").strip() for say in verb.iter("Say")]
            steps["gather"] = verb.get("action") or ""
            return steps
        elif verb.tag == "Redirect":
            steps["redirect"] = (verb.text or "").strip()
            return steps
        elif verb.tag == "Dial":
            steps["dial"] = True
            return steps
        elif verb.tag in ("Hangup", "Reject"):
            steps["hangup"] = True
            return steps
    steps["hangup"] = True
    return steps
