"""Read what people text: global commands, yes/no answers, menu choices and places.

Every phrase below is written already normalised (lowercase ASCII, single spaces), because
matching happens after `normalise`: accents, capitals and punctuation never matter.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from .danger import read_danger
from .language import detect_language

MAX_WORDS = 12  # a longer text is a story, not an answer: re-ask rather than guess
MAX_INPUT = 1600  # Twilio's own cap on one message; bounds the work for anything longer
PLACE_LIMIT = 200

# Words that change nothing about what someone asked for ("STATUS please", "menu por favor").
POLITE = frozenset(
    {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "now"}
    | {"por", "favor", "porfa", "porfavor", "gracias", "ahora"}
)


class Command(NamedTuple):
    """A global word: what it asks for, the language it implies, and how it must appear."""

    name: str
    language: str | None
    phrases: tuple[str, ...]
    anywhere: bool = False  # True: inside any text; False: the whole text (politeness aside)
    sms_only: bool = False


# Order is priority: the opt-out family Twilio enforces, then ours. Danger (an emergency or
# suicidal words) is read before all of these, by meaning: see flows/danger.py.
COMMANDS = (
    # Twilio blocks the number itself when one of these arrives as a single word (MSG-1).
    Command(
        "opt_out",
        None,
        (
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
            "stop it",
            "stop this",
        ),
        sms_only=True,
    ),
    Command("opt_out", "es", ("para", "parar", "basta"), sms_only=True),
    # Plain language: Twilio does not act on these, the CTIA says we must (RELIABILITY #16).
    Command(
        "opt_out",
        None,
        (
            "stop texting",
            "stop messaging",
            "stop sending",
            "stop text",
            "stop the texts",
            "stop these texts",
            "stop contacting",
            "dont text me",
            "do not text me",
            "dont message me",
            "no more texts",
            "no more messages",
            "opt me out",
            "unsubscribe me",
            "remove me from",
        ),
        anywhere=True,
        sms_only=True,
    ),
    Command(
        "opt_out",
        "es",
        (
            "no mas mensajes",
            "no me escribas",
            "no me escriban",
            "no me mandes",
            "no me manden",
            "deja de escribirme",
            "dejen de escribirme",
            "deja de mandarme",
            "dejen de mandarme",
            "deja de enviarme",
            "dejen de enviarme",
            "darme de baja",
            "dar de baja",
        ),
        anywhere=True,
        sms_only=True,
    ),
    Command("opt_in", None, ("start", "unstop"), sms_only=True),
    Command("help", None, ("help", "info")),
    Command("help", "es", ("ayuda", "informacion")),
    Command("privacy", None, ("privacy", "privacy policy")),
    Command("privacy", "es", ("privacidad", "politica de privacidad")),
    Command("spanish", "es", ("es", "espanol", "spanish", "en espanol", "castellano")),
    Command("english", None, ("en", "english", "ingles", "en ingles")),
    Command("menu", None, ("menu", "main menu", "start over", "restart", "home")),
    Command("menu", "es", ("menu principal", "inicio", "empezar de nuevo", "volver a empezar")),
    Command("status", None, ("status", "my status", "ride status", "request status")),
    Command("status", "es", ("estado", "mi estado", "estatus")),
    # Bare CANCEL is Twilio's opt-out word, so cancelling a ride always takes two words.
    Command(
        "cancel_ride",
        None,
        (
            "cancel ride",
            "cancel my ride",
            "cancel the ride",
            "cancel request",
            "cancel my request",
            "cancel the request",
            "cancel pickup",
        ),
    ),
    Command(
        "cancel_ride",
        "es",
        (
            "cancelar",
            "cancela",
            "cancelar viaje",
            "cancelar el viaje",
            "cancelar mi viaje",
            "cancelar solicitud",
            "cancelar la solicitud",
            "cancelar transporte",
        ),
    ),
    Command(
        "delete",
        None,
        ("delete", "delete my data", "delete data", "delete everything", "delete me", "erase"),
    ),
    Command(
        "delete",
        "es",
        ("borrar", "borra", "borrar datos", "borrar mis datos", "borrar todo", "eliminar"),
    ),
)

YES = frozenset(
    {"1", "y", "yes", "yeah", "yea", "yeh", "yep", "yup", "ya", "yah", "yess", "ye", "yuh", "yas", "yh"}
    | {"ok", "okay", "okey", "k", "kk", "sure", "alright", "correct", "right", "affirmative", "aight"}
    | {"absolutely", "definitely", "certainly", "fine", "good", "safe", "adult", "yessir", "yessum"}
    | {"mhm", "mhmm", "mmhm", "mmhmm", "ofc", "bet", "totally", "indeed", "yeppers", "surely"}
    | {"si", "s", "sip", "claro", "vale", "dale", "bueno", "bien", "cierto", "correcto", "orale"}
    | {"afirmativo", "simon", "seguro", "segura", "aja", "exacto", "obvio", "sii", "andale", "sale"}
    | {"def", "yesh", "affirm", "roger", "copy"}
)
NO = frozenset(
    {"2", "n", "no", "nope", "nah", "nay", "negative", "never", "not", "nop", "noo", "nooo", "naw"}
    | {"none", "nothing", "nunca", "nel", "nada", "ninguno", "ninguna", "ningun", "tampoco", "nuh"}
    | {"negativo", "nah"}
)
NEGATIONS = frozenset({"not", "no", "never", "nunca"})  # "not safe" is a no, not a yes
YES_PHRASES = (
    "of course",
    "por supuesto",
    "i am",
    "i do",
    "i will",
    "i have",
    "lo soy",
    "i think so",
    "i believe so",
    "i guess so",
    "for sure",
    "fo sho",
    "uh huh",
    "you bet",
    "sure thing",
    "sounds good",
    "that works",
    "thats right",
    "yes sir",
    "yes maam",
    "yes mam",
    "si claro",
    "claro que si",
    "creo que si",
    "asi es",
    "de acuerdo",
    "si senor",
    "si senora",
    "why not",
    "a salvo",
)
STRONG_YES = ("why not", "sure why not")  # "not" here says yes
NO_PHRASES = (
    "i dont think so",
    "dont think so",
    "i do not think so",
    "creo que no",
    "not really",
    "not at all",
    "no way",
    "nuh uh",
    "uh uh",
    "hell no",
    "heck no",
    "absolutely not",
    "definitely not",
    "certainly not",
    "of course not",
    "obviously not",
    "surely not",
    "claro que no",
    "por supuesto que no",
    "obvio que no",
    "seguro que no",
    "para nada",
    "de ninguna manera",
    "i dont",
    "i do not",
    "i wont",
    "i will not",
    "im not",
    "i am not",
    "i havent",
    "i have not",
    "no tengo",
    "not yet",
    "todavia no",
    "aun no",
    "no thanks",
    "no thank you",
    "no gracias",
    "nel pastel",
)
NOT_SURE = (
    "3",
    "not sure",
    "not really sure",
    "unsure",
    "idk",
    "idek",
    "i dont know",
    "dont know",
    "i do not know",
    "dunno",
    "maybe",
    "mayb",
    "mabye",
    "no idea",
    "no clue",
    "not a clue",
    "perhaps",
    "possibly",
    "could be",
    "might",
    "prob",
    "probably",
    "prolly",
    "probly",
    "kinda",
    "kind of",
    "sort of",
    "sorta",
    "depends",
    "not certain",
    "no se",
    "nose",
    "no c",
    "ns",
    "no lo se",
    "no estoy seguro",
    "no estoy segura",
    "no sabe",
    "no sabria",
    "quien sabe",
    "quizas",
    "quiza",
    "tal vez",
    "talvez",
    "a lo mejor",
    "puede ser",
    "puede que",
    "capaz",
    "ni idea",
    "ni se",
    "not positive",
    "not 100",
    "cant remember",
    "dont remember",
    "do not remember",
    "no me acuerdo",
    "no recuerdo",
)
MINOR_WORDS = frozenset(
    {"under", "younger", "minor", "menor", "menos", "underage", "kid", "teen", "teenager"}
)
ADULT_WORDS = frozenset({"over", "older", "mayor", "adult", "adulto", "adulta", "grown"})
AGE_NEGATIONS = frozenset({"not", "isnt", "aint", "never", "nunca", "arent"})
ADULT_AGE = 18
# Ages in words ("twenty one", "treinta y cinco"); ones count only after tens (a bare "one" is 1).
TEENS = {"thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17}
TEENS |= {"eighteen": 18, "nineteen": 19, "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16}
TEENS |= {"diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20}
TEENS |= {f"veinti{one}": 20 + n for n, one in enumerate(("uno", "dos", "tres", "cuatro"), 1)}
TEENS |= {f"veinti{one}": 25 + n for n, one in enumerate(("cinco", "seis", "siete", "ocho", "nueve"))}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
TENS |= {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80}
ONES = {
    w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine"), 1)
}
TENS_DIGITS = frozenset(str(n) for n in TENS.values())
ONES |= {
    w: n for n, w in enumerate(("uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"), 1)
}
LEAD_WORDS = 6  # a long voice-to-text answer leads with it: "yeah I think so, I mean I've got..."
MAX_SENTENCE = 60  # longer than a spoken sentence: a story, not an answer

NUMBER_WORDS = {
    "zero": "0",
    "cero": "0",
    "one": "1",
    "uno": "1",
    "two": "2",
    "dos": "2",
    "three": "3",
    "tres": "3",
    "four": "4",
    "cuatro": "4",
    "five": "5",
    "cinco": "5",
    "six": "6",
    "seis": "6",
}

# Only a new conversation is read for these: later, the person chooses with ES or EN.
SPANISH_HINTS = ("hola", "buenas", "buenos dias", "necesito", "quiero", "ayudeme", "por favor")

HQ = frozenset(
    {"1", "hq", "headquarters", "police hq", "police headquarters", "at hq", "meet at hq"}
    | {"station", "the station", "police station", "police department", "your station"}
    | {"comisaria", "la comisaria", "estacion", "la estacion", "estacion de policia"}
    | {"jefatura", "la jefatura", "jefatura de policia", "en la jefatura", "cuartel"}
)


# Emoji people answer with: read as the words they stand for ("👍🏽": the skin tone is dropped).
EMOJI_WORDS = {
    "\U0001f44d": " yes ",  # thumbs up
    "\U0001f44c": " yes ",  # OK hand
    "\u2705": " yes ",  # check mark button
    "\u2714": " yes ",  # check mark
    "\U0001f197": " yes ",  # OK button
    "\U0001f44e": " no ",  # thumbs down
    "\u274c": " no ",  # cross mark
    "\u2716": " no ",  # multiplication x
    "\U0001f6ab": " no ",  # prohibited
    "\U0001f937": " not sure ",  # shrug
}

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Fold text to lowercase ASCII words separated by single spaces (a thumbs-up reads "yes")."""
    bare = text[:MAX_INPUT]
    # ASCII has nothing to decompose and no combining marks: skip the per-character pass.
    if not bare.isascii():
        bare = "".join(EMOJI_WORDS.get(c, c) for c in bare)
        decomposed = unicodedata.normalize("NFKD", bare)
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Drop apostrophes so "can't" and "I'm" stay one word: "cant", "im".
    bare = bare.replace("'", "").replace("\u2019", "").casefold()
    return " ".join(_NOT_WORD.sub(" ", bare).split())


def is_blank(text: str) -> bool:
    """Tell whether a text has no letters or digits at all (empty, spaces, emoji, a picture)."""
    return not any(c.isalnum() for c in text[:MAX_INPUT])


def contains(text: str, phrase: str) -> bool:
    """Tell whether a normalised text holds a phrase as whole words."""
    return f" {phrase} " in f" {text} "


def phrase_finder(phrases: Sequence[str]) -> Callable[[str], bool]:
    """Return a test that tells, like `contains` on each phrase, whether a text holds any of them."""
    if not phrases:
        return lambda text: False
    # Not after and not before anything but a space: the text's edges count as spaces, exactly
    # as in `contains`, so one compiled search does the work of a `contains` per phrase.
    either = "|".join(re.escape(phrase) for phrase in phrases)
    search = re.compile(f"(?<![^ ])(?:{either})(?![^ ])").search
    return lambda text: search(text) is not None


@lru_cache(maxsize=64)
def _cached_finder(phrases: tuple[str, ...]) -> Callable[[str], bool]:
    """Return the finder for a tuple of phrases, compiled once per tuple."""
    return phrase_finder(phrases)


def contains_any(text: str, phrases: Sequence[str]) -> bool:
    """Tell whether a text holds any of the phrases as whole words."""
    if isinstance(phrases, tuple):  # tuples cannot change under the cache
        return _cached_finder(phrases)(text)
    return any(contains(text, phrase) for phrase in phrases)


def strip_polite(text: str) -> str:
    """Drop words that add courtesy but no meaning."""
    return " ".join(w for w in text.split() if w not in POLITE)


# Each command's test, built once: a search for phrases anywhere, a set for whole texts.
_COMMAND_TESTS = tuple(
    (command, phrase_finder(command.phrases) if command.anywhere else frozenset(command.phrases).__contains__)
    for command in COMMANDS
)


def read_command(text: str, channel: str = "sms") -> tuple[str | None, str | None]:
    """Return the global command in a raw text and the language it implies, if any."""
    return read_folded_command(normalise(text), channel)


def read_folded_command(folded: str, channel: str = "sms") -> tuple[str | None, str | None]:
    """Return the global command in a text already through `normalise`, and its language.

    Danger comes first, read by meaning (flows/danger.py): an emergency, or suicidal words.
    """
    if not folded:
        return None, None
    danger, language, _ = read_danger(folded)
    if danger:
        return danger, language
    core = strip_polite(folded)
    for command, test in _COMMAND_TESTS:
        if command.sms_only and channel != "sms":
            continue
        if test(folded if command.anywhere else core):
            return command.name, command.language
    return None, None


def is_spanish(text: str) -> bool:
    """Tell whether a normalised first message is in Spanish ("hola", "me pueden ayudar")."""
    return detect_language(text) == "es"


def stretched(word: str, table: frozenset[str]) -> bool:
    """Tell whether a word is in a table once letters typed over and over are cut ("yesss", "nahh")."""
    if word in table or not word.isalpha():
        return word in table
    once = re.sub(r"(.)\1{2,}", r"\1", word)
    return once in table or re.sub(r"(.)\1+", r"\1", word) in table


def read_answer(text: str, phrases: bool = True) -> str | None:
    """Return "yes", "no" or "not_sure" for a normalised answer, or None when unclear.

    A long answer (voice to text) is read from its first words. `phrases=False` ignores phrases
    such as "I am ..." or "I'm not ..." (in "I am 16" or "I'm not a minor" the age answers).
    """
    words = text.split()
    if not words or len(words) > MAX_SENTENCE:
        return None
    if len(words) > MAX_WORDS:
        words = words[:LEAD_WORDS]
        text = " ".join(words)
    if contains_any(text, NOT_SURE):
        return "not_sure"
    if phrases and contains_any(text, NO_PHRASES):
        return "no"
    if phrases and contains_any(text, STRONG_YES):
        return "yes"
    yes = no = False
    for before, word in zip(["", *words[:-1]], words, strict=True):
        if stretched(word, NO):
            no = True
        elif stretched(word, YES):
            if before in NEGATIONS:
                no = True
            else:
                yes = True
    if phrases and not yes and not no:
        yes = contains_any(text, YES_PHRASES)
    if yes == no:
        return None
    return "yes" if yes else "no"


def age_digits(words: list[str]) -> list[str]:
    """Write ages given in words as digits: "im twenty one" -> "im 21"."""
    out: list[str] = []
    for word in words:
        if word in TEENS:
            out.append(str(TEENS[word]))
        elif word in TENS:
            out.append(str(TENS[word]))
        elif word in ONES and out and out[-1] in TENS_DIGITS:
            out[-1] = str(int(out[-1]) + ONES[word])
        elif word == "y" and out and out[-1] in TENS_DIGITS:
            continue  # "treinta y cinco"
        else:
            out.append(word)
    return out


def _age_said(text: str) -> tuple[str | None, bool]:
    """Return "yes" (18+), "no" or None for a stated age, and whether a negation said it."""
    words = age_digits(text.split())
    if not words or len(words) > MAX_WORDS:
        return None, False
    said, negated = None, False
    for i, word in enumerate(words):
        kind = "no" if word in MINOR_WORDS else "yes" if word in ADULT_WORDS else None
        if kind is None:
            continue
        before = words[max(0, i - 3) : i]
        # "not a minor", "no soy menor": the bound is denied, so the other side is meant.
        if AGE_NEGATIONS & set(before) or words[i - 2 : i - 1] == ["no"] and i >= 2:
            kind, negated = ("yes" if kind == "no" else "no"), True
        if said not in (None, kind):
            return None, False
        said = kind
    if said:  # "under 18", "over 18": the number is the bound, not the age
        return said, negated
    ages = {(i, int(w)) for i, w in enumerate(words) if w.isdigit() and len(w) <= 3 and 4 <= int(w) <= 120}
    if len({age for _, age in ages}) != 1:
        return None, False
    i, age = min(ages)
    if age >= ADULT_AGE and (words[i - 1 : i] == ["not"] or words[max(0, i - 2) : i] == ["no", "tengo"]):
        return "no", True  # "I'm not 18", "no tengo 18"
    return ("yes" if age >= ADULT_AGE else "no"), False


def read_age(text: str) -> str | None:
    """Return "yes" (18+) or "no" for an answer that states an age, or None."""
    return _age_said(text)[0]


def read_adult(text: str) -> str | None:
    """Return "yes" or "no" to "are you 18 or older?", reading ages too ("I'm 17", "not a minor")."""
    age, negated = _age_said(text)
    if negated:  # "no, I'm not a minor": the yes or no only echoes the question's framing
        return age
    said = read_answer(text, phrases=age is None)
    if age is None:
        return said if said != "not_sure" else None
    if said is None or said == age:
        return age
    return None  # "yes, 17": contradictory, so ask again


def read_choice(text: str, options: Mapping[str, Sequence[str]]) -> str | None:
    """Return the one option a normalised text picks ("option 2 please", "a ride"), or None."""
    words = text.split()
    if not words or len(words) > MAX_WORDS:
        return None
    numbers = {NUMBER_WORDS.get(w, w) for w in words if w.isdigit() or w in NUMBER_WORDS}
    numbers = {str(int(n)) if len(n) <= 3 else n for n in numbers}
    if numbers:
        if len(numbers) != 1:
            return None
        (number,) = numbers
        found = {name for name, phrases in options.items() if number in phrases}
    else:
        found = {name for name, phrases in options.items() if contains_any(text, phrases)}
    return found.pop() if len(found) == 1 else None


def read_place(text: str) -> tuple[str, str | None] | None:
    """Return ("hq", None), ("place", cleaned text) or None for a where-to-meet answer."""
    folded = normalise(text)
    if strip_polite(folded) in HQ:
        return "hq", None
    if is_bare_answer(folded):
        return None
    place = clean_place(text)
    letters = sum(c.isalpha() for c in place)
    if letters < 1 or sum(c.isalnum() for c in place) < 2:
        return None
    return "place", place


def is_bare_answer(text: str) -> bool:
    """Tell whether a normalised text is only a yes, no or not-sure (so not a place)."""
    core = strip_polite(text)
    if not core:
        return True
    return core in NOT_SURE or all(w in YES or w in NO for w in core.split())


def clean_place(text: str) -> str:
    """Trim free text to one line of at most PLACE_LIMIT characters, without controls or emoji."""
    kept = "".join(
        " " if unicodedata.category(c)[0] == "C" or unicodedata.category(c) == "So" else c
        for c in text[:MAX_INPUT]
    )
    return " ".join(kept.split())[:PLACE_LIMIT].strip()


RELAY_LIMIT = 600  # a relayed text to the officer: four SMS segments at most


def clean_text(text: str) -> str:
    """Trim a text to relay to one line of at most RELAY_LIMIT characters, without controls."""
    kept = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text[:MAX_INPUT])
    return " ".join(kept.split())[:RELAY_LIMIT].strip()
