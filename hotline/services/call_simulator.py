"""A pretend phone call: plays keypresses and speech through the hotline's real, signed voice webhooks.

What `hotline call` uses. It follows the TwiML the way Twilio would: it speaks the <Say> texts,
posts keys (or speech) to a <Gather>'s action, and for a <Dial> plays the officer's side too (the
whisper, then answer / voicemail / no-answer / busy / failed) before posting the Dial's result.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from hotline.plumbing.runtime import runtime
from hotline.services import roster, voice_call
from hotline.services.simulator import Phone, SimulatorError, signed_form

STATUS = "/twilio/voice/status"
#: What the person rung can do, and what Twilio then reports on the caller's side.
OUTCOMES = {
    "answer": ("completed", "true"),
    "voicemail": ("completed", "false"),
    "no-answer": ("no-answer", "false"),
    "busy": ("busy", "false"),
    "failed": ("failed", "false"),
}


@dataclass
class Heard:
    """One answer of the hotline: what the caller hears, and what it waits for next."""

    said: list[str] = field(default_factory=list)
    waiting: str = "ended"  # keys | keys or speech | ringing | ended
    ringing: str | None = None  # who is being rung, by roster name (never a number)


class PhoneCall(Phone):
    """One call to the hotline (in-process, or over HTTP to a running one)."""

    def __init__(self, app: Flask, number: str, base_url: str | None = None):
        super().__init__(app, number, base_url)
        self.sid = "CA" + uuid.uuid4().hex
        self.action: str | None = None  # the question's action, or the Dial's
        self.whisper: str | None = None
        self.number_rung: str | None = None

    def dial(self) -> Heard:
        """Call the hotline."""
        return self._play(voice_call.ENTRY)

    def press(self, keys: str) -> Heard:
        """Press keys at the question being asked."""
        return self._answer(Digits=keys)

    def say(self, words: str, confidence: float = 0.9) -> Heard:
        """Speak at the question being asked (the meeting place listens for speech)."""
        return self._answer(SpeechResult=words, Confidence=str(confidence))

    def wait(self) -> Heard:
        """Say and press nothing until the question times out."""
        return self._answer()

    def officer_hears(self) -> list[str]:
        """Return what the phone being rung hears once picked up (the whisper)."""
        if not self.whisper:
            return []
        gather = ElementTree.fromstring(self._post(self.whisper, self._leg_params())).find("Gather")
        return [say.text or "" for say in gather.iter("Say")] if gather is not None else []

    def ring(self, outcome: str) -> Heard:
        """Let the person being rung answer (and press 1), or not, and hear what follows."""
        status, bridged = OUTCOMES[outcome]
        if outcome == "answer" and self.whisper:
            action = self.whisper.replace(voice_call.WHISPER, voice_call.WHISPER_ANSWER, 1)
            self._post(action, self._leg_params(Digits="1"))
        extra = {"DialCallStatus": status, "DialBridged": bridged, "DialCallSid": "CA" + uuid.uuid4().hex}
        return self._play(self.action or voice_call.ENTRY, **extra)

    def hang_up(self) -> None:
        """Hang up: Twilio tells the hotline the call completed."""
        params = self._params(CallStatus="completed")
        if self.base_url is None:
            # A status callback answers 204, which the text simulator's _post would call an error.
            _, headers = signed_form(self.rt, STATUS, params)
            status = self.app.test_client().post(STATUS, data=params, headers=headers).status_code
            if status not in (200, 204):
                raise SimulatorError(f"the hotline answered HTTP {status}")
        else:
            self._post(STATUS, params)
        self.action = None

    def _answer(self, **extra: str) -> Heard:
        if self.action is None:
            return Heard()
        return self._play(self.action, **extra)

    def _params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": self.rt.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "From": self.number,
            "To": self.rt.hotline_number,
            **extra,
        }

    def _leg_params(self, **extra: str) -> dict[str, str]:
        """Return what Twilio posts on the rung person's own leg: the caller appears nowhere."""
        return {
            "AccountSid": self.rt.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
            "CallSid": "CA" + uuid.uuid4().hex,
            "ParentCallSid": self.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-dial",
            "From": self.rt.hotline_number,
            "To": self.number_rung or "",
            **extra,
        }

    def _play(self, url: str, **extra: str) -> Heard:
        """Post to a hotline URL, follow its TwiML as Twilio would, and return what was heard."""
        heard = Heard()
        while True:
            root = ElementTree.fromstring(self._post(url, self._params(**extra)))
            heard.said += [say.text or "" for say in root.iter("Say")]
            gather, dial, redirect = root.find("Gather"), root.find("Dial"), root.find("Redirect")
            self.action = self.whisper = self.number_rung = None
            if gather is not None:
                self.action = _path(self.rt, gather.get("action", ""))
                heard.waiting = "keys or speech" if "speech" in gather.get("input", "") else "keys"
            elif dial is not None and dial.get("action"):
                number = dial.find("Number")
                self.action = _path(self.rt, dial.get("action", ""))
                self.whisper = _path(self.rt, number.get("url", "")) if number is not None else None
                self.number_rung = (number.text or "").strip() if number is not None else ""
                heard.waiting, heard.ringing = "ringing", self._who(self.number_rung)
            elif redirect is not None and root.find("Hangup") is None:
                url, extra = _path(self.rt, redirect.text or ""), {}
                continue
            return heard

    def _who(self, number: str) -> str:
        """Name the person rung from the roster (the simulator shows names, never numbers)."""
        if number == voice_call.desk_number(self.rt):
            return "the desk"
        try:
            with self.rt.db.reading() as session:
                officer = roster.find_by_phone(session, self.rt, number)
        except Exception:  # the simulator must not fail over a name
            officer = None
        return officer.name if officer else "someone on the roster"


def _path(rt, url: str) -> str:
    """Return the path and query of one of the hotline's absolute URLs."""
    base = rt.config["HOTLINE_PUBLIC_URL"].rstrip("/")
    return url[len(base) :] if url.startswith(base) else url


def new_call(app: Flask, number: str, base_url: str | None = None) -> PhoneCall:
    """Return a call from a pretend number to the app (or to a running hotline at base_url)."""
    runtime(app)  # fail early if the app has no hotline runtime
    return PhoneCall(app, number, base_url)


HELP = (
    "Keys to press (e.g. 1), 'say <words>' to speak, Enter for silence, 'hangup' to end. "
    "When someone is rung: answer, voicemail, no-answer, busy or failed."
)


def converse(
    call: PhoneCall, ask: Callable[[str], str], echo: Callable[[str], None], *, show_input: bool = False
) -> None:
    """Play a whole call: print what the caller hears, ask for each keypress, until it ends.

    `ask` raises EOFError when there is no more input: the caller hangs up. With `show_input`
    (input from a file or a pipe) each answer is printed too, so the output reads as a transcript.
    """
    if show_input:
        prompt = ask

        def ask(label: str) -> str:
            said = prompt("")
            echo(f"{label}{said}")
            return said

    echo(f"Calling the hotline as {call.number}. {HELP}")
    heard = call.dial()
    while True:
        for text in heard.said:
            echo(f"hotline> {text}")
        if heard.waiting == "ended":
            echo("(the hotline hung up)")
            return
        try:
            if heard.waiting == "ringing":
                echo(f"(ringing {heard.ringing}; their phone hears: {' '.join(call.officer_hears())})")
                outcome = ask("officer> ").strip().lower() or "no-answer"
                if outcome not in OUTCOMES:
                    echo(f"(!) one of: {', '.join(OUTCOMES)}")
                    continue
                if outcome == "answer":
                    echo("(you talk with them; they hang up)")
                heard = call.ring(outcome)
                continue
            said = ask(f"{heard.waiting}> ").strip()
        except (EOFError, KeyboardInterrupt):
            call.hang_up()
            echo("(you hung up)")
            return
        if said.lower() == "hangup":
            call.hang_up()
            echo("(you hung up)")
            return
        if said.lower().startswith("say "):
            heard = call.say(said[4:])
        elif said:
            heard = call.press(said)
        else:
            heard = call.wait()
