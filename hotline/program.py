"""The program file: a department's facts, timing, retention and wording (TOML)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.config import ConfigError

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
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

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
                facts.setdefault(key, {})[language] = text
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
            voices={lang: dict(v) for lang, v in raw.get("voice", {}).items()},
            sentence_facts={lang: dict(v) for lang, v in raw.get("facts", {}).items()},
            texts={lang: dict(v) for lang, v in raw.get("texts", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"HOTLINE_PROGRAM: {path} is missing or has a wrong {error}.") from None
    _check(result, path)
    return result


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
    if program.offer_deadline_minutes <= 0 or program.reask_limit < 0:
        raise ConfigError("HOTLINE_PROGRAM: [timing] values must be positive.")
