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


def test_both_catalogs_have_the_same_keys():
    assert SHIPPED.languages == ("en", "es")
    assert set(SHIPPED.keys("en")) == set(SHIPPED.keys("es"))
    assert len(SHIPPED.keys("en")) > 50


@pytest.mark.parametrize(("language", "key"), KEYS)
def test_every_text_fits_two_gsm7_segments_with_long_facts(language, key, catalog, params):
    text = render(catalog, language, key, params)
    assert text.strip()
    if key.endswith(".voice"):
        # Spoken, never texted: no segments, and Spanish keeps every accent.
        assert "{" not in text and "}" not in text and len(text) <= 1000
        return
    assert segments(text) in {("GSM-7", 1), ("GSM-7", 2)}, (len(text), text)
    assert "{" not in text and "}" not in text


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


@pytest.mark.parametrize("language", ["en", "es"])
def test_warrant_text_is_honest(language, catalog):
    text = catalog.render("info.warrants", language).lower()
    assert ("not waived" if language == "en" else "no se anulan") in text
    assert ("signature bond" if language == "en" else "fianza bajo firma") in text
    assert ("talk it through" if language == "en" else "hablarlo") in text
    assert "will be waived" not in text and "se anulan" not in text.replace("no se anulan", "")


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
    params = {"ref": "R9", "place": "Walmart", "handover": "yes"}
    params |= {"weapons": "no", "warrant": "not_sure", "consent": "yes"}
    spanish = catalog.render("confirm.place", "es", params)
    assert "Entrega: si." in spanish
    assert "Orden de arresto: no sabe." in spanish
    assert "Warrant concern: not sure." in catalog.render("confirm.place", "en", params)


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
    assert "es status.none: UCS-2, not GSM-7" in found
    assert "vi welcome: 3 GSM-7 segments" in found


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
