"""Reading the moments that change a plan: who an emergency is about, a new meeting place,
a change of mind, and the answer to the crisis check-in.

Pure functions over text already through `intents.normalise` (or raw text, where the words
themselves are kept, as for a place).
"""

import re

from .intents import clean_place, contains_any, is_bare_answer, normalise

# "I took too much" is about the writer; "he's not breathing" is about someone with them.
SELF_CUES = (
    "i took",
    "i think i",
    "i overdosed",
    "i od",
    "im od",
    "im overdosing",
    "im dying",
    "i cant breathe",
    "i can not breathe",
    "i cannot breathe",
    "im passing out",
    "me tome",
    "tome demasiado",
    "me meti",
    "no puedo respirar",
    "me muero",
    "me estoy muriendo",
    "me voy a desmayar",
)
OTHER_WORDS = frozenset(
    {"he", "she", "they", "hes", "shes", "theyre", "friend", "someone", "el", "ella", "alguien"}
)

# A new place needs a cue that says so, or an address-like number and street: ordinary
# chatter ("im ok", "at home soon?") must not move an officer.
_PLACE_CUE = re.compile(
    r"\b(?:(?:i ?a?m|i'm|i’m)(?: now| actually)? (?:at|by|in front of|outside)"
    r"|(?:now|actually) (?:at|by)"
    r"|meet me (?:at|by|in front of|outside)"
    r"|pick me up (?:at|by|in front of|outside)"
    r"|come to"
    r"|(?:ahora )?estoy (?:en|afuera de|frente a|enfrente de)"
    r"|ahora en"
    r"|recojanme en"
    r"|recogerme en"
    r"|nos vemos en)\b",
    re.I,
)
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[a-z]+\s+){0,3}(?:st|street|ave|avenue|rd|road|blvd|dr|drive|ln|lane|way|hwy|"
    r"highway|pkwy|ct|pl|calle|avenida|camino)\b",
    re.I,
)
CHANGED_MIND = (
    "changed my mind",
    "change my mind",
    "nevermind",
    "never mind",
    "nvm",
    "dont need it",
    "dont need a ride",
    "dont want it",
    "dont want a ride",
    "no longer need",
    "ya no",
    "ya no quiero",
    "cambie de opinion",
    "cambie de idea",
    "olvidalo",
    "olvidelo",
)
CRISIS_CHOICES = {
    "go_on": ("1", "keep going", "go on", "continue", "yes", "im safe", "seguir", "continuar", "si"),
    "talk": ("2", "talk", "988", "hablar"),
    # "Are you safe right now?" answered no: 911 first, and the sergeant is told again.
    "unsafe": ("no", "not safe", "im not safe", "nope", "nah", "no estoy a salvo", "no estoy bien"),
    "stop": ("3", "stop for now", "later", "not now", "despues", "luego", "ahora no"),
}


def is_about_self(text: str) -> bool:
    """Tell whether emergency words are about the writer ("I took too much"), not someone else."""
    return contains_any(text, SELF_CUES) and not OTHER_WORDS.intersection(text.split())


def read_new_place(raw: str) -> str | None:
    """Return the new meeting place a text gives ("actually im at the walgreens"), or None."""
    text = " ".join(raw.replace("’", "'").split())
    cue = _PLACE_CUE.search(text)
    if cue is None:
        return clean_place(text) if _STREET.search(text) else None
    place = clean_place(text[cue.end() :].strip(" ,.:;-"))
    for tail in (" now", " instead", " ahora"):  # "at the walgreens now" -> "the walgreens"
        if place.lower().endswith(tail):
            place = place[: -len(tail)].strip()
    if sum(c.isalnum() for c in place) < 3 or is_bare_answer(normalise(place)):
        return None
    return place


def is_changed_mind(text: str) -> bool:
    """Tell whether a normalised text says the person no longer wants the request."""
    return contains_any(text, CHANGED_MIND)


# Erasing everything and cancelling a ride is not undone: only a plain YES (SI) confirms it.
_CONFIRM_WORDS = frozenset({"yes", "y", "si", "delete", "erase", "borrar", "borra", "please", "por", "favor"})


def is_plain_yes(text: str) -> bool:
    """Tell whether a normalised text is a plain YES ("yes", "si", "yes delete"), not "ok" or "sure"."""
    words = text.split()
    return bool(words) and set(words) <= _CONFIRM_WORDS and bool({"yes", "y", "si"} & set(words))
