"""The program file: a department's facts, timing, retention and wording (TOML)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.plumbing.config import ConfigError

# Voices Twilio's <Say> accepts for each language that the hotline speaks; others fail at start-up.
ALLOWED_VOICES = {
    "en-US": {
        "man",
        "woman",
        "alice",
        "Polly.Joanna",
        "Polly.Matthew",
        "Polly.Salli",
        "Polly.Joanna-Neural",
        "Polly.Matthew-Neural",
        "Google.en-US-Standard-C",
    },
    "es-US": {
        "man",
        "woman",
        "alice",
        "Polly.Lupe",
        "Polly.Miguel",
        "Polly.Penelope",
        "Polly.Lupe-Neural",
        "Google.es-US-Standard-A",
    },
    "es-MX": {"alice", "Polly.Mia", "Polly.Mia-Neural"},
}
LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class CallSettings:
    """How calls behave: [voice] in the program file (voices per language are [voice.<lang>])."""

    max_say_chars: int = 500  # the longest text one <Say> speaks; longer texts are split
    gather_timeout_seconds: int = 6  # silence before a question is asked again
    dial_timeout_seconds: int = 20  # ringing before "talk to an officer now" tries the next person
    dial_officers: int = 3  # on-duty officers rung before the sergeant and the desk
    dial_sergeants: int = 1
    speech_confidence: float = 0.4  # speech heard with less confidence is asked again


@dataclass(frozen=True)
class Limits:
    """How much one sender may ask of the hotline, and how much it may send: [limits]."""

    texts_per_sender_per_10min: int = 30  # inbound texts one number may send before it gets no answer
    calls_per_sender_per_10min: int = 10  # calls one number may start before it hears a short goodbye
    outbound_texts_per_hour: int = 600  # texts the worker sends in any hour; the rest wait


@dataclass(frozen=True)
class Sending:
    """How fast each of our numbers may send, and in what order: [sending] in the program file.

    Twilio sends 1 segment a second from a US long code, about 3 from a toll-free number and
    about 100 from a short code; it queues the rest. Give each number its real rate: above it,
    texts wait in Twilio's queue, oldest first, where an offer cannot pass a reply.
    """

    main_segments_per_second: float = 1.0  # the hotline number (TWILIO_PHONE_NUMBER)
    staff_segments_per_second: float = 1.0  # the staff number (TWILIO_STAFF_NUMBER), if any
    by_priority: bool = True  # offers and alerts first; false sends the oldest first


@dataclass(frozen=True)
class Program:
    """A department's program, read once at start-up."""

    name: str
    department: str
    timezone: str
    languages: tuple[str, ...]
    reviewed: bool
    hq_address: str
    desk_phone: str
    crisis_line: str
    treatment_partner: str
    treatment_phone: str
    offer_deadline_minutes: float
    reask_limit: int
    idle_reset_hours: float
    message_days: int
    inbound_log_days: int
    voices: dict[str, dict[str, str]]
    sentence_facts: dict[str, dict[str, str]] = field(default_factory=dict)
    serves_minors: bool = False  # [treatment] serves_minors: the partner line is given to under-18s
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: CallSettings = field(default_factory=CallSettings)
    limits: Limits = field(default_factory=Limits)
    sending: Sending = field(default_factory=Sending)

    def facts(self) -> dict[str, Any]:
        """Return the placeholder values the text catalogs use, per language where they differ."""
        facts: dict[str, Any] = {
            "program_name": self.name,
            "department": self.department,
            "hq_address": self.hq_address,
            "desk_phone": self.desk_phone,
            "crisis_line": self.crisis_line,
            "treatment_partner": self.treatment_partner,
            "treatment_phone": self.treatment_phone,
            "retention_days": str(self.message_days),
        }
        for language, sentences in self.sentence_facts.items():
            for key, text in sentences.items():
                value = facts.setdefault(key, {})
                if isinstance(value, str):  # e.g. [facts.es] department: a Spanish form of a name
                    value = facts[key] = {"en": value}
                value[language] = text
        if not self.serves_minors:
            # Under-18s get the partner's line only when the program file says the partner serves them.
            facts["minors_partner"] = ""
        return facts


def load_program(path: str | Path) -> Program:
    """Read and check a program file; a wrong value fails here, never during a call."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"HOTLINE_PROGRAM: no program file at {path}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"HOTLINE_PROGRAM: {path} is not valid TOML ({error}).") from None
    try:
        program, contact = raw["program"], raw["contact"]
        treatment, timing = raw.get("treatment", {}), raw.get("timing", {})
        retention = raw.get("retention", {})
        result = Program(
            name=str(program["name"]),
            department=str(program["department"]),
            timezone=str(program.get("timezone", "America/Chicago")),
            languages=tuple(program.get("languages", LANGUAGES)),
            reviewed=bool(program.get("reviewed", False)),
            hq_address=str(contact["hq_address"]),
            desk_phone=str(contact["desk_phone"]),
            crisis_line=str(contact.get("crisis_line", "988")),
            treatment_partner=str(treatment.get("partner", "")),
            treatment_phone=str(treatment.get("phone", "")),
            offer_deadline_minutes=float(timing.get("offer_deadline_minutes", 5)),
            reask_limit=int(timing.get("reask_limit", 2)),
            idle_reset_hours=float(timing.get("idle_reset_hours", 24)),
            message_days=int(retention.get("message_days", 30)),
            inbound_log_days=int(retention.get("inbound_log_days", 30)),
            voices={lang: dict(v) for lang, v in raw.get("voice", {}).items() if isinstance(v, dict)},
            calls=_call_settings(raw.get("voice", {})),
            limits=_limits(raw.get("limits", {})),
            sending=_sending(raw.get("sending", {})),
            serves_minors=_flag(treatment, "serves_minors"),
            sentence_facts=_sentences(raw.get("facts", {}), raw.get("privacy", {})),
            texts={lang: dict(v) for lang, v in raw.get("texts", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"HOTLINE_PROGRAM: {path} is missing or has a wrong {error}.") from None
    _check(result, path)
    return result


def _flag(table: dict[str, Any], name: str) -> bool:
    """Read a true/false setting; anything else is a mistake, not a guess."""
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} (true or false)")
    return value


def _sentences(*tables: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Merge the per-language sentence tables ([facts.<lang>], [privacy.<lang>]) into one."""
    merged: dict[str, dict[str, str]] = {}
    for table in tables:
        for language, sentences in table.items():
            if not isinstance(sentences, dict):
                raise ValueError(f"[{language}] (a table of sentences per language)")
            merged.setdefault(language, {}).update({key: str(text) for key, text in sentences.items()})
    return merged


def _call_settings(voice: dict[str, Any]) -> CallSettings:
    """Read [voice]'s own values (its tables are the voices per language)."""
    defaults = CallSettings()
    values = {}
    for name, default in vars(defaults).items():
        value = voice.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"[voice] {name}")
        values[name] = type(default)(value)
    return CallSettings(**values)


def _limits(table: dict[str, Any]) -> Limits:
    """Read [limits]: whole numbers of at least 1 (a limit cannot be switched off)."""
    values = {}
    for name, default in vars(Limits()).items():
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"[limits] {name} (a whole number of at least 1)")
        values[name] = value
    return Limits(**values)


def _sending(table: dict[str, Any]) -> Sending:
    """Read [sending]: rates between 0.1 and 1000 segments a second, priority on or off."""
    defaults = Sending()
    rates = {}
    for name in ("main_segments_per_second", "staff_segments_per_second"):
        value = table.get(name, getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.1 <= value <= 1000:
            raise ValueError(f"[sending] {name} (segments a second, 0.1 to 1000)")
        rates[name] = float(value)
    return Sending(**rates, by_priority=_flag(table, "by_priority") if "by_priority" in table else True)


def _check(program: Program, path: str | Path) -> None:
    """Refuse a program the hotline cannot serve honestly."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    unknown = [lang for lang in program.languages if lang not in LANGUAGES]
    if unknown or "en" not in program.languages:
        raise ConfigError(f"HOTLINE_PROGRAM: languages must include 'en' and be among {LANGUAGES}.")
    try:
        ZoneInfo(program.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"HOTLINE_PROGRAM: unknown timezone {program.timezone!r}.") from None
    for language in program.languages:
        voice = program.voices.get(language)
        if not voice:
            raise ConfigError(f"HOTLINE_PROGRAM: [voice.{language}] is missing in {path}.")
        allowed = ALLOWED_VOICES.get(voice.get("language", ""), set())
        if voice.get("voice") not in allowed:
            raise ConfigError(
                f"HOTLINE_PROGRAM: voice {voice.get('voice')!r} with language "
                f"{voice.get('language')!r} is not one the hotline allows ([voice.{language}])."
            )
    for language in program.languages:
        if not program.sentence_facts.get(language, {}).get("discreet_opener", "").strip():
            # Updates nobody asked for open with it: without it a lock screen could out the person.
            raise ConfigError(f"HOTLINE_PROGRAM: [privacy.{language}] discreet_opener is missing in {path}.")
    calls = program.calls
    if not (
        100 <= calls.max_say_chars <= 4000
        and 3 <= calls.gather_timeout_seconds <= 30
        and 5 <= calls.dial_timeout_seconds <= 60
        and 0 <= calls.dial_officers <= 10
        and 0 <= calls.dial_sergeants <= 5
        and 0 <= calls.speech_confidence < 1
    ):
        raise ConfigError(
            "HOTLINE_PROGRAM: [voice] needs max_say_chars 100..4000, gather_timeout_seconds 3..30, "
            "dial_timeout_seconds 5..60, dial_officers 0..10, dial_sergeants 0..5, "
            "speech_confidence 0..1."
        )
    from hotline.plumbing.privacy import normalise_phone

    if normalise_phone(program.desk_phone) is None:
        # Calls are put through to the desk when all else fails: it must be a number Twilio can dial.
        raise ConfigError(f"HOTLINE_PROGRAM: desk_phone {program.desk_phone!r} is not a phone number.")
    if program.offer_deadline_minutes <= 0 or program.reask_limit < 0:
        raise ConfigError("HOTLINE_PROGRAM: [timing] values must be positive.")
    if program.message_days < 1 or program.inbound_log_days < 1:
        # Twilio retries a webhook within minutes: a day of inbound log answers every retry.
        raise ConfigError("HOTLINE_PROGRAM: [retention] periods must be at least 1 day.")
