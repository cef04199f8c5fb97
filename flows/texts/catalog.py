"""Participant texts per language: the shipped catalogs, program overrides and facts."""

import tomllib
from collections.abc import Iterator, Mapping
from importlib import resources
from string import Formatter

from .encoding import segments

SHIPPED = ("en", "es")
FALLBACK = "en"
VOICE = ".voice"

# Every placeholder a text may use. Program facts come from the program file; the rest the
# flow (or the service, for {ref}) fills per message. flows/texts/README.md explains each.
FACTS = frozenset(
    {
        "program_name",
        "department",
        "hq_address",
        "desk_phone",
        "treatment_partner",
        "treatment_phone",
        "crisis_line",
        "good_samaritan",
        "retention_days",
    }
)
ANSWER_PLACEHOLDERS = frozenset({"handover", "weapons", "warrant", "consent"})
PLACEHOLDERS = FACTS | ANSWER_PLACEHOLDERS | {"ref", "place", "message"}
# Filled on calls only: how many minutes "talk to an officer now" may ring (hotline/voice_call.py).
PLACEHOLDERS |= {"minutes"}


def placeholders(template: str) -> set[str]:
    """Return the placeholder names a template uses (raises ValueError if it is malformed)."""
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


def load(language: str) -> dict[str, str]:
    """Read one shipped catalog."""
    source = resources.files(__package__).joinpath(f"{language}.toml").read_text("utf-8")
    return flatten(tomllib.loads(source))


def flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """Turn nested TOML tables into dotted keys ("[status] waiting" -> "status.waiting")."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, str):
            flat[name] = value
    return flat


class Catalog:
    """Hold the texts per language and render a key with its params and the program facts."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        facts: Mapping[str, Mapping[str, str] | str] | None = None,
    ) -> None:
        self._shipped = {language: load(language) for language in SHIPPED}
        self._texts = {language: dict(texts) for language, texts in self._shipped.items()}
        for language, texts in (overrides or {}).items():
            self._texts.setdefault(language, {}).update(flatten(texts))
        self._facts = dict(facts or {})

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the languages that have texts, English first."""
        return tuple(sorted(self._texts, key=lambda language: (language != FALLBACK, language)))

    def keys(self, language: str) -> list[str]:
        """Return the keys a language defines itself (voice variants included)."""
        return sorted(self._texts.get(language, {}))

    def render(
        self,
        key: str,
        language: str,
        params: Mapping[str, str] | None = None,
        channel: str = "sms",
    ) -> str:
        """Return the text for a key: voice variant first on voice, English if it is missing."""
        values = self._values(language, params or {})
        for template in self._templates(key, language, channel):
            try:
                return fill(template, values)
            except ValueError:  # a malformed override ("{"): try the next candidate
                continue
        return ""

    def problems(self, params: Mapping[str, str] | None = None, budget: int = 2) -> list[str]:
        """Return what is wrong with the texts: unknown placeholders, over budget, not GSM-7."""
        found = []
        for language in self.languages:
            for key in self.keys(language):
                template = self._texts[language][key]
                try:
                    unknown = placeholders(template) - PLACEHOLDERS
                except ValueError:
                    found.append(f"{language} {key}: malformed placeholder")
                    continue
                if unknown:
                    found.append(f"{language} {key}: unknown {', '.join(sorted(unknown))}")
                base, voice = key.removesuffix(VOICE), key.endswith(VOICE)
                text = self.render(base, language, params, "voice" if voice else "sms")
                encoding, count = segments(text)
                if voice:
                    continue  # spoken, never texted: Spanish keeps its accents (no segments)
                if count > budget:
                    found.append(f"{language} {key}: {count} {encoding} segments")
                elif encoding != "GSM-7":
                    found.append(f"{language} {key}: {encoding}, not GSM-7")
        return found

    def _templates(self, key: str, language: str, channel: str) -> Iterator[str]:
        """Yield the candidate templates for a key, best first."""
        names = [key + VOICE, key] if channel == "voice" else [key]
        languages = [language, FALLBACK] if language != FALLBACK else [FALLBACK]
        for lang in languages:
            for name in names:
                for texts in (self._texts.get(lang, {}), self._shipped.get(lang, {})):
                    if name in texts:
                        yield texts[name]

    def _values(self, language: str, params: Mapping[str, str]) -> dict[str, str]:
        """Return the placeholder values: facts in this language, then the message's params."""
        values = {name: self._fact(value, language) for name, value in self._facts.items()}
        for name, value in params.items():
            if name in ANSWER_PLACEHOLDERS:
                # Enum answers ("yes", "not_sure") are shown in the person's language.
                value = self.render(f"answer.{value}", language) or str(value)
            values[name] = str(value)
        return values

    @staticmethod
    def _fact(value: Mapping[str, str] | str, language: str) -> str:
        """Return a fact in one language, falling back to English."""
        if isinstance(value, Mapping):
            return str(value.get(language, value.get(FALLBACK, "")))
        return str(value)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Put values into a template's named placeholders; unknown ones become empty."""
    parts = []
    for literal, field, _, _ in Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            # Plain names only: "{x.__class__}" or "{x[0]}" in an override must not reach in.
            parts.append(values.get(field, "") if field.isidentifier() else "")
    return "".join(parts)
