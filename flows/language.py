"""Tell English from Spanish in a short text, from its first message on, with no keyword needed.

Pure, like the rest of `flows`. Words only one of the two languages uses decide first ("necesito",
"quiero", "the", "want"); when they do not, the lingua detector (restricted to English and
Spanish, made for short texts) decides if it is confident. The detector is built once, on first
use, in its low-accuracy mode (trigrams only) with both models loaded at once: about 30 ms and
8 MB, then some 10 to 100 microseconds a call. The high-accuracy mode (all n-gram sizes) took
0.5 to 1 s and 85 MB per process for no gain once the telling words have decided: on the
corpus both modes give every first message its right language.
"""

from functools import lru_cache
from typing import Any

# Words one language uses and the other does not (after `normalise`: no accents, no capitals).
# Left out on purpose: words both share or that are names or menu words ("no", "si", "me", "a",
# "y", "la", "el", "en", "hq", "ok", "menu"); "es" alone is the word for Spanish anyway.
SPANISH = frozenset(
    {"hola", "ola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "gracias", "porfa"}
    | {"por", "favor", "porfavor", "necesito", "necesita", "necesitamos", "quiero", "quiere", "queremos"}
    | {"tengo", "tiene", "tienen", "estoy", "esta", "estan", "estamos", "soy", "somos", "fue", "eres"}
    | {"mi", "mis", "tu", "su", "sus", "que", "como", "donde", "cuando", "cuanto", "cuanta", "quien"}
    | {"porque", "pero", "muy", "tambien", "ya", "yo", "usted", "ustedes", "nosotros", "ella", "ellos"}
    | {"ayuda", "ayudar", "ayudame", "ayudeme", "ayudenme", "pueden", "puede", "puedo", "podria"}
    | {"hablan", "habla", "hablar", "espanol", "drogas", "droga", "hijo", "hija", "esposo", "esposa"}
    | {"amigo", "amiga", "hermano", "hermana", "novio", "novia", "senor", "senora", "tratamiento"}
    | {"problema", "problemas", "aqui", "ahora", "hoy", "manana", "noche", "casa", "calle", "esquina"}
    | {"con", "sin", "para", "del", "los", "las", "una", "uno", "unos", "este", "esto", "eso", "esa"}
    | {"hay", "creo", "voy", "vamos", "van", "tomo", "uso", "dejar", "entrar", "oficial", "policia"}
    | {"recojan", "recoger", "recogerme", "llevar", "traer", "pasa", "funciona", "gratis", "cuesta"}
    | {"arrestar", "carcel", "seguro", "vivo", "vivir", "otra", "otro", "ciudad", "alguien", "nada"}
    | {"claro", "sabe", "les", "nos", "al", "unas", "pastillas", "alguno", "alguna", "mucho", "mucha"}
    | {"es", "confidencial", "anonimo", "privacidad", "orden", "ordenes", "sobredosis", "respira"}
)
ENGLISH = frozenset(
    {"i", "im", "ive", "id", "my", "the", "is", "are", "was", "were", "you", "your", "u", "ur"}
    | {"need", "want", "wanna", "help", "please", "pls", "what", "how", "why", "where", "when", "who"}
    | {"can", "could", "will", "would", "do", "does", "dont", "did", "he", "she", "hes", "shes", "it"}
    | {"its", "and", "to", "of", "with", "this", "that", "yes", "yeah", "hi", "hello", "hey", "get"}
    | {"go", "have", "be", "not", "for", "on", "at", "in", "am", "someone", "somebody", "anyone"}
    | {"drugs", "son", "daughter", "husband", "wife", "friend", "treatment", "ride", "pick", "up"}
    | {"free", "cost", "arrested", "jail", "about", "there", "here", "they", "them", "we", "us"}
    | {"thanks", "thank", "sure", "okay", "just", "like", "know", "dont", "cant", "wont", "really"}
    | {"rehab", "detox", "info", "please", "pick", "ride", "gonna", "gotta", "yall"}
)
GREETINGS = frozenset({"hola", "ola", "buenas", "buenos dias", "buenas tardes", "buenas noches", "buen dia"})
CONFIDENT = 0.8  # the detector's share for a first message with no telling word
CLEARLY = 0.9  # ... and for switching language mid-conversation
MIN_SWITCH_WORDS = 3  # a switch needs a sentence (never "ok", "no" or a place name)
SURE_WORDS = 3  # telling words that switch with no other language's word beside them


@lru_cache(maxsize=1)
def detector() -> Any:
    """Return the English/Spanish detector, built on first use."""
    from lingua import Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
    return builder.with_low_accuracy_mode().with_preloaded_language_models().build()


def spanish_share(folded: str) -> float:
    """Return how sure the detector is that a normalised text is Spanish (0 to 1)."""
    from lingua import Language

    return detector().compute_language_confidence(folded, Language.SPANISH)


def hints(folded: str) -> tuple[int, int]:
    """Count the words only Spanish uses and those only English uses."""
    words = folded.split()
    return sum(w in SPANISH for w in words), sum(w in ENGLISH for w in words)


def detect_language(folded: str) -> str | None:
    """Return "es" or "en" for a first message, or None when it says nothing either way."""
    if not folded or not any(c.isalpha() for c in folded):
        return None
    spanish, english = hints(folded)
    if spanish != english:
        return "es" if spanish > english else "en"
    share = spanish_share(folded)
    if share >= CONFIDENT:
        return "es"
    if share <= 1 - CONFIDENT:
        return "en"
    return None


def switched_language(folded: str, current: str) -> str | None:
    """Return the other language when a message mid-conversation is clearly written in it."""
    if folded in GREETINGS:
        return "es" if current != "es" else None
    words = folded.split()
    spanish, english = hints(folded)
    # A sentence, or two words only the other language uses ("quiero ayuda", "cuanto cuesta").
    if len(words) < MIN_SWITCH_WORDS and max(spanish, english) < len(words):
        return None
    # Three telling words and none of the other language are clear enough on their own; names
    # ("Lee's Summit") can pull the detector below its bar on such a sentence.
    if (
        current != "es"
        and english == 0
        and (spanish >= SURE_WORDS or spanish >= 2 and spanish_share(folded) >= CLEARLY)
    ):
        return "es"
    if (
        current == "es"
        and spanish == 0
        and (english >= SURE_WORDS or english >= 2 and spanish_share(folded) <= 1 - CLEARLY)
    ):
        return "en"
    return None
