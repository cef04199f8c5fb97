"""The phone simulator in the browser (development only): a participant's phone and one per roster member.

Every text and keypress goes through the hotline's real, signed Twilio webhooks (posted
in-process, signed exactly as Twilio would sign them), and what the hotline sends comes back
from the outbox of the local transport. Never registered in production.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlmodel import col, select

from hotline.plumbing import jobs
from hotline.plumbing.privacy import normalise_phone
from hotline.plumbing.runtime import Runtime, runtime
from hotline.services import roster, simulator
from models import Officer, OutboxMessage

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

DEFAULT_PARTICIPANT = "+18165550199"
#: Redirects followed in a row before the simulator gives up on a call (a loop in the IVR).
MAX_REDIRECTS = 5


@bp.before_request
def _development_only():
    if runtime().config["HOTLINE_ENV"] != "development":
        abort(404)
    # JSON only: a page on another site cannot post JSON here without the browser asking first.
    if request.method == "POST" and not request.is_json:
        abort(415)


@bp.get("")
def page():
    """Show the participant's phone and one phone per active roster member."""
    rt = runtime()
    with rt.db.reading() as session:
        people = [p for p in roster.everyone(session) if p.active]
    return render_template("simulator.html", people=people, participant=DEFAULT_PARTICIPANT)


@bp.post("/text")
def text():
    """Text the hotline from a phone; answer with its immediate replies."""
    rt = runtime()
    payload = request.get_json(silent=True) or {}
    number = _number(rt, payload)
    body = str(payload.get("body", ""))[:1600]
    response = _post(rt, "/twilio/sms", simulator.sms_form(rt, number, body))
    replies = simulator.message_texts(response.get_data(as_text=True)) if response.status_code == 200 else []
    # Send what the turn queued now (the local transport only marks it sent), as `hotline dev`'s
    # worker would within a second.
    jobs.run_once(rt)
    return jsonify(replies=replies, status=response.status_code)


@bp.get("/inbox")
def inbox():
    """Return texts the hotline sent a phone after a given outbox id."""
    rt = runtime()
    number = _number(rt, request.args)
    after = request.args.get("after", 0, type=int) or 0
    with rt.db.reading() as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.to_hash == rt.pseudonyms.of(number),
                OutboxMessage.id > after,
                OutboxMessage.kind == "sms",
                OutboxMessage.status == "sent",
            )
            .order_by(col(OutboxMessage.id))
        ).all()
    messages = [{"id": row.id, "text": rt.vault.open(row.body_sealed) or ""} for row in rows]
    return jsonify(messages=messages, last=max([after, *(m["id"] for m in messages)]))


@bp.post("/call")
def call():
    """Start a call to the hotline, or press keys in one; answer with what the caller hears."""
    rt = runtime()
    payload = request.get_json(silent=True) or {}
    number = _number(rt, payload)
    call_sid = str(payload.get("call_sid") or "CA" + uuid.uuid4().hex)[:40]
    path = _local_path(str(payload.get("action") or "/twilio/voice"))
    digits = payload.get("digits")
    form = simulator.call_form(rt, number, call_sid, None if digits is None else str(digits)[:20])
    heard: list[str] = []
    for _ in range(MAX_REDIRECTS):
        response = _post(rt, path, form)
        if response.status_code != 200:
            return jsonify(call_sid=call_sid, say=heard, ended=True, error=f"HTTP {response.status_code}")
        steps = simulator.voice_steps(response.get_data(as_text=True))
        heard += steps["say"]
        if steps["redirect"]:
            path = _local_path(steps["redirect"], base=path)
            form.pop("Digits", None)
            continue
        if steps["dial"]:
            heard.append("(the hotline connects the call to staff)")
        gather = steps["gather"]
        return jsonify(
            call_sid=call_sid,
            say=heard,
            action=_local_path(gather, base=path) if gather is not None else None,
            ended=gather is None,
        )
    return jsonify(call_sid=call_sid, say=heard, ended=True, error="too many redirects")


def _number(rt: Runtime, data) -> str:
    """Return the phone a request speaks for: the participant's number, or a roster member's."""
    officer_id = data.get("officer_id")
    if officer_id not in (None, ""):
        with rt.db.reading() as session:
            officer = session.get(Officer, int(officer_id)) if str(officer_id).isdigit() else None
        number = rt.vault.open(officer.phone_sealed) if officer else None
        if not number:
            abort(404)
        return number
    number = normalise_phone(str(data.get("number") or DEFAULT_PARTICIPANT))
    if number is None:
        abort(400, description="That is not a phone number.")
    return number


def _post(rt: Runtime, path: str, form: dict[str, str]):
    """Post a form to one of our webhooks, signed as Twilio signs it."""
    _, headers = simulator.signed_form(rt, path, form)
    return current_app.test_client().post(path, data=form, headers=headers)


def _local_path(url: str, base: str = "/twilio/voice") -> str:
    """Return the path (and query) of a webhook URL, absolute or relative, on this hotline."""
    if not url:
        return base
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") else base.rsplit("/", 1)[0] + "/" + parts.path
    if not path.startswith("/twilio/"):
        abort(400, description="Only the hotline's own webhooks can be called.")
    return path + ("?" + parts.query if parts.query else "")
