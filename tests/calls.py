"""A pretend caller for voice tests: signed posts as Twilio makes them, every answer checked as TwiML."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from hotline.plumbing.program import ALLOWED_VOICES
from tests.support import HOTLINE_NUMBER, PARTICIPANT, PUBLIC_URL

VERBS_AFTER_GATHER = {"Redirect", "Say", "Hangup", "Dial", "Gather", "Pause"}


@dataclass
class Heard:
    """One TwiML answer, parsed: what the caller hears and where the call goes next."""

    root: ElementTree.Element
    document: str

    @property
    def said(self) -> list[str]:
        return [say.text or "" for say in self.root.iter("Say")]

    @property
    def text(self) -> str:
        return " ".join(self.said)

    @property
    def gather(self) -> ElementTree.Element | None:
        return self.root.find("Gather")

    @property
    def dial(self) -> ElementTree.Element | None:
        return self.root.find("Dial")

    @property
    def dialled(self) -> str | None:
        dial = self.dial
        return None if dial is None else (dial.findtext("Number") or "").strip()

    @property
    def hangs_up(self) -> bool:
        return self.root.find("Hangup") is not None

    @property
    def languages(self) -> set[str]:
        return {say.get("language") for say in self.root.iter("Say")}


def check_twiml(document: str, *, say_limit: int) -> Heard:
    """Parse a TwiML answer and check what every call answer must be; return it parsed."""
    assert document.startswith("<?xml"), document[:40]
    assert len(document.encode()) < 64 * 1024
    root = ElementTree.fromstring(document)
    assert root.tag == "Response"
    for say in root.iter("Say"):
        text = say.text or ""
        assert text.strip(), "no empty <Say>"
        assert len(text) <= say_limit, (len(text), text)
        assert say.get("voice") in ALLOWED_VOICES[say.get("language")], say.attrib
    children = list(root)
    for index, verb in enumerate(children):
        if verb.tag == "Gather":
            assert verb.get("numDigits") and verb.get("timeout"), verb.attrib
            assert verb.get("action", "").startswith(PUBLIC_URL + "/twilio/voice/"), verb.attrib
            follows = [v.tag for v in children[index + 1 :]]
            assert verb.get("actionOnEmptyResult") == "true" or VERBS_AFTER_GATHER & set(follows), (
                "silence must lead somewhere"
            )
        if verb.tag == "Dial":
            assert verb.get("callerId") == HOTLINE_NUMBER, verb.attrib
            assert verb.get("record") == "do-not-record"
            assert 5 <= int(verb.get("timeout")) <= 30
            for number in verb.iter("Number"):
                url = number.get("url")
                assert url is None or url.startswith(PUBLIC_URL + "/twilio/voice/whisper")
    return Heard(root, document)


class Caller:
    """Plays one call against the app the way Twilio does, following the TwiML it gets back."""

    def __init__(self, twilio, rt, number: str = PARTICIPANT, sid: str | None = None):
        self.twilio, self.rt = twilio, rt
        self.number = number
        self.sid = sid or "CA" + uuid.uuid4().hex
        self.last: Heard | None = None
        self.history: list[Heard] = []

    def params(self, **extra) -> dict:
        """Return the form Twilio posts for this call (geographic fields included)."""
        return {
            "AccountSid": "AC" + "1" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "From": self.number,
            "To": HOTLINE_NUMBER,
            "Caller": self.number,
            "Called": HOTLINE_NUMBER,
            "FromCity": "LEES SUMMIT",
            "FromState": "MO",
            "FromZip": "64063",
            "FromCountry": "US",
            **extra,
        }

    def post(self, url: str, **extra) -> Heard:
        """Post to one of the hotline's URLs (absolute, as in TwiML, or a path) and check the answer."""
        path = url.removeprefix(PUBLIC_URL)
        response = self.twilio.post(path, self.params(**extra))
        assert response.status_code == 200, (response.status_code, path)
        assert response.mimetype == "text/xml"
        heard = check_twiml(response.get_data(as_text=True), say_limit=self.rt.program.calls.max_say_chars)
        self.last = heard
        self.history.append(heard)
        return heard

    def dial_in(self) -> Heard:
        return self.post("/twilio/voice")

    @property
    def action(self) -> str:
        gather = self.last.gather if self.last else None
        assert gather is not None, "the call is not waiting at a question"
        return gather.get("action")

    def press(self, digits: str, **extra) -> Heard:
        return self.post(self.action, Digits=digits, **extra)

    def speak(self, words: str, confidence: str = "0.87") -> Heard:
        return self.post(self.action, SpeechResult=words, Confidence=confidence)

    def silence(self) -> Heard:
        return self.post(self.action)

    def ring(self, status: str, *, bridged: str | None = None, caller: str = "in-progress") -> Heard:
        """Report how the person rung answered, as Twilio's Dial action does."""
        dial = self.last.dial if self.last else None
        assert dial is not None and dial.get("action"), "nobody is being rung"
        extra = {"DialCallStatus": status, "DialCallSid": "CA" + uuid.uuid4().hex, "CallStatus": caller}
        if bridged is not None:
            extra["DialBridged"] = bridged
        return self.post(dial.get("action"), **extra)

    def hang_up(self, path: str = "/twilio/status") -> int:
        """Hang up: the number's status callback (`hotline twilio configure`) says the call completed."""
        response = self.twilio.post(path, self.params(CallStatus="completed"))
        return response.status_code

    def start(self, language: str = "1") -> Heard:
        """Dial in and choose a language: 1 English, 2 Spanish."""
        self.dial_in()
        return self.press(language)

    def keys(self, *presses: str) -> Heard:
        for digits in presses:
            self.press(digits)
        return self.last
