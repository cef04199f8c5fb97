"""Participant texts per language: the shipped catalogs, program overrides and facts."""

import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import suppress
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
        # Sentences a department sets per language in its program file (docs/program.md).
        "discreet_opener",
        "records_commitment",
        "insurance",
        "pickup",
        "treatment_stay",
        "minors_partner",
    }
)
ANSWER_PLACEHOLDERS = frozenset({"handover", "weapons", "warrant", "consent"})
# What a message fills in, at its longest: the lengths every text is checked and shown with.
LONGEST_PARAMS = {
    "ref": "R7K2",
    "place": "QuikTrip, corner of Highway 291 and SW 3rd St, Lee's Summit",
    "handover": "not_sure",
    "weapons": "not_sure",
    "warrant": "not_sure",
    "consent": "not_sure",
    "message": "Grey Ford at the pumps in 5 min, I am in uniform",
    "hotline_number": "(816) 555-0100",
}
PLACEHOLDERS = FACTS | ANSWER_PLACEHOLDERS | {"ref", "place", "message", "hotline_number"}
# Filled on calls only: how many minutes "talk to an officer now" may ring (hotline/voice_call.py).
PLACEHOLDERS |= {"minutes"}

# Texts a participant gets without having just asked for them (updates, relays, reminders): a
# lock screen shows them to whoever holds the phone. Each opens with the program file's
# {discreet_opener}, and nothing in its first DISCREET_CHARS characters may name the program,
# the department, police, officers, drugs, treatment or overdoses. Keys are matched by prefix,
# so a new "status.*" or "reminder.*" text is held to the rule the day it is added.
UNSOLICITED = ("status.", "relay.from_officer", "welcome_back", "reminder.", "update.")
DISCREET_CHARS = 40
SENSITIVE = re.compile(
    r"polic|officer|oficial|agente|sheriff|\bcops?\b|deputy|drug|droga|narc|heroin|fentanyl|opioid"
    r"|treatment|tratamiento|rehab|overdos|sobredosis|amnest|amnist|warrant|arresto",
    re.IGNORECASE,
)


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
        self._facts_in: dict[str, dict[str, str]] = {}  # per language, filled once (facts never change)

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
                return tidy(fill(template, values))
            except ValueError:  # a malformed override ("{"): try the next candidate
                continue
        return ""

    def problems(self, params: Mapping[str, str] | None = None, budget: int = 2) -> list[str]:
        """Return what is wrong with the texts: unknown placeholders, over budget, not discreet.

        English texts must be plain GSM-7; other languages may use accents (UCS-2) within the
        same number of segments. Spoken lines (".voice") are not SMS and have no segment budget.
        """
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
                if key.endswith(VOICE):
                    continue
                text = self.render(key, language, params)
                encoding, count = segments(text)
                if count > budget:
                    found.append(f"{language} {key}: {count} {encoding} segments")
                elif encoding != "GSM-7" and language == FALLBACK:
                    found.append(f"{language} {key}: {encoding}, not GSM-7")
                if is_unsolicited(key) and (word := self.indiscreet(text, language)):
                    found.append(f"{language} {key}: {word!r} in its first {DISCREET_CHARS} characters")
        return found

    def indiscreet(self, text: str, language: str) -> str:
        """Return what outs the person in a text's first characters on a lock screen, or ""."""
        head = text[:DISCREET_CHARS]
        if match := SENSITIVE.search(head):
            return match.group(0)
        for name in ("program_name", "department"):
            value = self._fact(self._facts.get(name, ""), language).strip()
            if value and value.casefold() in head.casefold():
                return value
        return ""

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
        """Return the placeholder values: facts in this language, then the message's params.

        A fact may itself use placeholders ("Update on your request {ref}:"): they are filled
        once, from the other values, so a fact never expands into itself.
        """
        values = dict(self._facts_for(language))
        for name, value in params.items():
            if name in ANSWER_PLACEHOLDERS:
                # Enum answers ("yes", "not_sure") are shown in the person's language: a phrase for
                # this question where the language has one ("answer.weapons.no"), else the word.
                value = self._answer(name, str(value), language)
            values[name] = str(value)
        for name in FACTS & values.keys():
            if "{" in values[name]:
                # A malformed fact ("{") is shown as written.
                with suppress(ValueError):
                    values[name] = fill(values[name], {k: v for k, v in values.items() if k != name})
        return values

    def _facts_for(self, language: str) -> dict[str, str]:
        """Return the facts in one language, those that use other facts filled: once per language.

        A fact that waits for a message's value ("{ref}") stays as written, for `_values` to fill.
        """
        found = self._facts_in.get(language)
        if found is None:
            found = {name: self._fact(value, language) for name, value in self._facts.items()}
            for name in FACTS & found.keys():
                template = found[name]
                if "{" not in template:
                    continue
                with suppress(ValueError):
                    if placeholders(template) <= found.keys() - {name}:
                        found[name] = fill(template, {k: v for k, v in found.items() if k != name})
            self._facts_in[language] = found
        return found

    def _answer(self, name: str, value: str, language: str) -> str:
        """Return how a language shows one enum answer to one question."""
        for key in (f"answer.{name}.{value}", f"answer.{value}"):
            if text := self.render(key, language):
                return text
        return value

    @staticmethod
    def _fact(value: Mapping[str, str] | str, language: str) -> str:
        """Return a fact in one language, falling back to English."""
        if isinstance(value, Mapping):
            return str(value.get(language, value.get(FALLBACK, "")))
        return str(value)


def is_unsolicited(key: str) -> bool:
    """Tell whether a text key is one a participant gets without having just asked (UNSOLICITED)."""
    return key.removesuffix(VOICE).startswith(UNSOLICITED) and not key.endswith(VOICE)


def tidy(text: str) -> str:
    """Close the gap an empty fact leaves ("4357.  If" -> "4357. If"), never touching line breaks."""
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", text).replace(" \n", "\n").strip(" ")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Put values into a template's named placeholders; unknown ones become empty."""
    parts = []
    for literal, field, _, _ in Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            # Plain names only: "{x.__class__}" or "{x[0]}" in an override must not reach in.
            parts.append(values.get(field, "") if field.isidentifier() else "")
    return "".join(parts)
