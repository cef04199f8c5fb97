"""Catalogs: every key in every language, within two GSM-7 segments, honest and lock-screen safe."""

import re

import pytest

from flows.texts import PLACEHOLDERS, Catalog, placeholders, segments

SHIPPED = Catalog()
KEYS = [(language, key) for language in ("en", "es") for key in SHIPPED.keys(language)]


def render(catalog: Catalog, language: str, key: str, params: dict) -> str:
    base = key.removesuffix(".voice")
    return catalog.render(base, language, params, "voice" if key.endswith(".voice") else "sms")


VISIBLE = Catalog(facts={name: f"<{name}>" for name in PLACEHOLDERS})


def raw(language: str, key: str) -> str:
    """Return a shipped text with its placeholders visible as <name>."""
    return VISIBLE.render(
        key.removesuffix(".voice"),
        language,
        {name: f"<{name}>" for name in PLACEHOLDERS if name not in ("handover", "weapons")},
        "voice" if key.endswith(".voice") else "sms",
    )


# Keys only some languages need for their grammar: Spanish shows each answer as a phrase.
GRAMMAR = re.compile(r"answer\.\w+\.\w+$")


def test_both_catalogs_have_the_same_keys():
    assert SHIPPED.languages == ("en", "es")
    english = {key for key in SHIPPED.keys("en") if not GRAMMAR.match(key)}
    spanish = {key for key in SHIPPED.keys("es") if not GRAMMAR.match(key)}
    assert english == spanish
    assert len(english) > 50


SMS_KEYS = [(language, key) for language, key in KEYS if not key.endswith(".voice")]
VOICE_KEYS = [(language, key) for language, key in KEYS if key.endswith(".voice")]


@pytest.mark.parametrize(("language", "key"), SMS_KEYS)
def test_every_text_fits_two_segments_with_long_facts(language, key, catalog, params):
    text = render(catalog, language, key, params)
    assert text.strip()
    if key.endswith(".voice"):
        # Spoken, never texted: no segments, and Spanish keeps every accent.
        assert "{" not in text and "}" not in text and len(text) <= 1000
        return
    encoding, count = segments(text)
    # English is plain GSM-7; Spanish may carry its accents (UCS-2) within the same two segments.
    assert count <= 2 and (encoding == "GSM-7" or language != "en"), (encoding, count, len(text), text)
    assert "{" not in text and "}" not in text


@pytest.mark.parametrize(("language", "key"), VOICE_KEYS)
def test_spoken_lines_fit_one_say(language, key, catalog, params):
    text = render(catalog, language, key, params)
    assert text.strip() and "{" not in text and "}" not in text
    assert len(text) <= 500  # the program file's default max_say_chars: one <Say>


@pytest.mark.parametrize(("language", "key"), KEYS)
def test_no_shipped_text_uses_an_unknown_placeholder(language, key):
    texts = SHIPPED._texts[language]  # the template itself, before any rendering
    assert placeholders(texts[key]) <= PLACEHOLDERS


def test_shipped_catalog_reports_no_problems(facts, params):
    assert Catalog(facts=facts).problems(params) == []


LOCK_SCREEN = re.compile(r"drug|overdos|narcot|heroin|fentanyl|opioid|droga|sobredosis", re.I)


@pytest.mark.parametrize(("language", "key"), [k for k in KEYS if not k[1].endswith(".voice")])
def test_first_line_is_lock_screen_safe(language, key, catalog, params):
    first_line = render(catalog, language, key, params).split("\n")[0]
    assert not LOCK_SCREEN.search(first_line), first_line


def test_the_lock_screen_check_can_fail(catalog, params):
    text = render(catalog, "en", "emergency", params)
    assert LOCK_SCREEN.search(text)  # the Good Samaritan line mentions it, on line two
    assert not LOCK_SCREEN.search(text.split("\n")[0])


TWILIO_WORDS = re.compile(r"\b(STOP|STOPALL|UNSUBSCRIBE|CANCEL(?! RIDE)|END|QUIT|REVOKE|OPTOUT)\b")


@pytest.mark.parametrize(("language", "key"), KEYS)
def test_texts_only_suggest_opt_out_words_to_opt_out(language, key):
    text = raw(language, key)
    for match in TWILIO_WORDS.finditer(text):
        after = text[match.end() : match.end() + 25]
        assert match[1] == "STOP" and re.match(r" (to opt out|para darse de baja)", after), text
    assert "CANCEL RIDE" in raw("en", "status.waiting")
    assert "CANCELAR" in raw("es", "status.waiting")


@pytest.mark.parametrize("language", ["en", "es"])
def test_help_has_program_desk_opt_out_and_911(language, catalog, facts):
    text = catalog.render("help", language)
    assert facts["program_name"] in text
    assert facts["desk_phone"] in text
    assert "STOP" in text
    assert "911" in text
    assert "Reply STOP to opt out" in catalog.render("help", "en")
    assert "If this is an emergency call 911" in catalog.render("help", "en")


@pytest.mark.parametrize("key", ["info.warrants", "warrant.told"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_warrant_text_is_honest(language, key, catalog, facts):
    """The FAQ: arrested on the warrant, then maybe a signature bond or release; talk it through first."""
    for channel in ("sms", "voice"):
        text = catalog.render(key, language, channel=channel).lower()
        arrested, bond, explained = {
            "en": ("arrested on it", "signature bond", "sign a promise to go to court"),
            "es": ("le arrestan por ella", "fianza bajo firma", "firma una promesa de ir al tribunal"),
        }[language]
        assert arrested in text and bond in text and explained in text
        assert text.index(arrested) < text.index(bond)  # the arrest first, then what may follow
        assert ("released" if language == "en" else "soltarle") in text
        # Talk it through first: by text, through this number (theirs stays hidden); by phone, the desk.
        assert ("press 3" if language == "en" else "oprima 3") in text or facts["desk_phone"] in text
        assert "waived" not in text.replace("not waived", "")
        assert "se anula" not in text.replace("no se anula", "")
        assert "enter treatment" not in text and "entre a tratamiento" not in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_worried_answer_is_told_the_officer_will_know(language, catalog):
    told = {"en": "officer who comes will be told", "es": "se lo diremos al oficial que vaya"}[language]
    assert told in catalog.render("warrant.told", language).lower()
    asked = {
        "en": "we tell the officer who comes what you answer",
        "es": "le diremos su respuesta al oficial",
    }
    for channel in ("sms", "voice"):
        assert asked[language] in catalog.render("ask_warrant", language, channel=channel).lower()
        assert "does not stop you" not in catalog.render("ask_warrant", language, channel=channel)


@pytest.mark.parametrize("language", ["en", "es"])
def test_emergency_and_crisis_put_911_first(language, catalog, facts):
    emergency = catalog.render("emergency", language)
    crisis = catalog.render("crisis", language)
    assert "911" in emergency.split("\n")[0]
    assert facts["good_samaritan"][language] in emergency
    assert "911" in crisis and "988" in crisis


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("key", ["welcome", "ask_safe", "ask_adult", "ask_warrant", "info"])
def test_voice_variants_say_press_not_reply(language, key, catalog):
    sms, voice = catalog.render(key, language), catalog.render(key, language, channel="voice")
    press, reply = {"en": ("press", "reply"), "es": ("oprima", "responda")}[language]
    assert press in voice.lower() and reply not in voice.lower()
    assert reply in sms.lower()


# ---- Catalog behaviour ---------------------------------------------------------------------


def test_voice_falls_back_to_the_sms_text():
    assert SHIPPED.render("status.none", "en", channel="voice") == SHIPPED.render("status.none", "en")


def test_missing_key_falls_back_to_english_and_unknown_key_is_empty():
    catalog = Catalog(overrides={"vi": {"welcome": "Xin chao"}})
    assert catalog.languages == ("en", "es", "vi")
    assert catalog.render("welcome", "vi") == "Xin chao"
    assert catalog.render("help", "vi") == catalog.render("help", "en")
    assert catalog.render("no.such.key", "en") == ""
    assert catalog.render("help", "klingon") == catalog.render("help", "en")


def test_overrides_replace_one_key_in_one_language():
    catalog = Catalog(overrides={"es": {"status": {"none": "Nada abierto. Responda MENU."}}})
    assert catalog.render("status.none", "es") == "Nada abierto. Responda MENU."
    assert catalog.render("status.none", "en") == SHIPPED.render("status.none", "en")
    assert catalog.render("help", "es") == SHIPPED.render("help", "es")


def test_facts_may_be_one_string_or_per_language():
    catalog = Catalog(
        overrides={"en": {"x": "{department} / {desk_phone}"}, "es": {"x": "{department}"}},
        facts={"department": {"en": "Police", "es": "Policia"}, "desk_phone": "555"},
    )
    assert catalog.render("x", "en") == "Police / 555"
    assert catalog.render("x", "es") == "Policia"


def test_params_override_facts_and_enum_answers_are_translated():
    catalog = Catalog(facts={"program_name": "Safe Passage"})
    params = {"ref": "R9", "place": "afuera del Walmart de la 50", "handover": "yes"}
    params |= {"weapons": "no", "warrant": "not_sure", "consent": "yes"}
    spanish = catalog.render("confirm.place", "es", params)
    # Each answer is a phrase of its own in Spanish, and the place reads after "Lugar:" whatever it is.
    assert "Lugar: afuera del Walmart de la 50\n" in spanish
    assert "Trae algo para entregar. No lleva armas. No sabe si tiene una orden de arresto." in spanish
    assert "Orden de arresto: no sabe" not in spanish and "lo encuentra en" not in spanish
    assert "Warrant concern: not sure." in catalog.render("confirm.place", "en", params)
    voice = catalog.render("confirm.place", "es", params, channel="voice")
    assert "el lugar es: afuera del Walmart de la 50." in voice


def test_a_language_without_phrases_for_answers_uses_its_words():
    catalog = Catalog(overrides={"vi": {"answer.yes": "co", "x": "{weapons}/{warrant}"}})
    assert catalog.render("x", "vi", {"weapons": "yes", "warrant": "maybe"}) == "co/maybe"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {nobody}!", "Hi !"),
        ("{program_name.__class__}", ""),
        ("{0}{}", ""),
        ("Braces {{ok}}", "Braces {ok}"),
    ],
)
def test_unknown_placeholders_render_safely(template, expected):
    catalog = Catalog(overrides={"en": {"x": template}}, facts={"program_name": "SP"})
    assert catalog.render("x", "en") == expected


def test_malformed_override_falls_back_to_the_shipped_text():
    catalog = Catalog(overrides={"en": {"help": "Broken {"}})
    assert catalog.render("help", "en") == SHIPPED.render("help", "en")


def test_problems_catches_bad_overrides(facts):
    catalog = Catalog(
        overrides={
            "en": {"help": "Call {desk_fone}."},
            "es": {"status.none": "No tiene ninguna solicitud abierta ahora mismo, así que..."},
            "vi": {"welcome": "x" * 400},
        },
        facts=facts,
    )
    found = catalog.problems()
    assert "en help: unknown desk_fone" in found
    assert "es status.none: UCS-2, not GSM-7" not in found  # Spanish may use its accents...
    assert "vi welcome: 3 GSM-7 segments" in found
    long_spanish = Catalog(overrides={"es": {"status.none": "á" * 135}}, facts=facts).problems()
    assert long_spanish == ["es status.none: 3 UCS-2 segments"]  # ...within two segments
    curly = Catalog(overrides={"en": {"help": "\u201cHelp\u201d"}}, facts=facts).problems()
    assert curly == ["en help: UCS-2, not GSM-7"]


# ---- segment counting, Twilio's rules ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # extension table: two septets each
        ("€" * 81, ("GSM-7", 2)),
        ("a" * 152 + "€" + "a" * 8, ("GSM-7", 2)),  # an escape pair is never split
        ("ñé¿¡ü" * 32, ("GSM-7", 1)),
        ("á" * 70, ("UCS-2", 1)),
        ("á" * 71, ("UCS-2", 2)),
        ("á" * 134, ("UCS-2", 2)),
        ("á" * 135, ("UCS-2", 3)),
        ("😀" * 35, ("UCS-2", 1)),  # surrogate pairs: two UTF-16 units each
        ("😀" * 36, ("UCS-2", 2)),
        ("\u201cquoted\u201d", ("UCS-2", 1)),
        ("a" * 1600, ("GSM-7", 11)),
    ],
)
def test_segments_follow_twilio(text, expected):
    assert segments(text) == expected
