"""Reading what people text: commands, answers, choices and places, in English and Spanish."""

import pytest

from flows import intents
from flows.intake import INFO_CHOICES, WELCOME_CHOICES
from flows.intents import (
    COMMANDS,
    normalise,
    read_adult,
    read_answer,
    read_choice,
    read_command,
    read_place,
)

TWILIO_OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  YES!!! ", "yes"),
        ("Sí", "si"),
        ("¿Menú?", "menu"),
        ("ESPAÑOL", "espanol"),
        ("I'm   not\nsure…", "im not sure"),
        ("can't breathe", "cant breathe"),
        ("1\ufe0f\u20e3", "1"),  # keycap emoji digit
        ("２", "2"),  # full-width digit
        ("🙏🙏", ""),
        ("", ""),
    ],
)
def test_normalise_folds_case_accents_and_punctuation(text, expected):
    assert normalise(text) == expected


# The way people really answer a yes/no question (>= 40 rows, English and Spanish).
PHRASINGS = [
    ("y", "yes"),
    ("Y", "yes"),
    ("yes", "yes"),
    ("YES!", "yes"),
    ("Yes please", "yes"),
    ("yeah", "yes"),
    ("yep", "yes"),
    ("yup", "yes"),
    ("ok", "yes"),
    ("OK.", "yes"),
    ("okay", "yes"),
    ("sure", "yes"),
    ("of course", "yes"),
    ("1", "yes"),
    ("option 1", "yes"),
    ("I am safe", "yes"),
    ("yes I'm safe right now", "yes"),
    ("sí", "yes"),
    ("Si", "yes"),
    ("SÍ!", "yes"),
    ("s", "yes"),
    ("claro", "yes"),
    ("claro que sí", "yes"),
    ("sí, por favor", "yes"),
    ("por supuesto", "yes"),
    ("estoy bien", "yes"),
    ("n", "no"),
    ("no", "no"),
    ("NO.", "no"),
    ("nope", "no"),
    ("nah", "no"),
    ("2", "no"),
    ("no thanks", "no"),
    ("not safe", "no"),
    ("I'm not safe", "no"),
    ("none", "no"),
    ("nothing", "no"),
    ("no gracias", "no"),
    ("nada", "no"),
    ("ninguna", "no"),
    ("not sure", "not_sure"),
    ("Not sure.", "not_sure"),
    ("idk", "not_sure"),
    ("IDK", "not_sure"),
    ("i dont know", "not_sure"),
    ("I don't know", "not_sure"),
    ("maybe", "not_sure"),
    ("3", "not_sure"),
    ("no sé", "not_sure"),
    ("No se", "not_sure"),
    ("no estoy seguro", "not_sure"),
    ("tal vez", "not_sure"),
    ("quizás", "not_sure"),
    ("banana", None),
    ("yes no", None),
    ("ok no", None),
    ("", None),
    ("🙏", None),
    ("yes " * 400, None),  # a 1600-character text is not an answer
    ("what do you mean", None),
]


@pytest.mark.parametrize(("text", "expected"), PHRASINGS)
def test_yes_no_not_sure_read_as_people_text_them(text, expected):
    assert read_answer(normalise(text)) == expected


def test_phrasing_table_is_big_enough_and_bilingual():
    spanish = {"sí", "Si", "SÍ!", "claro", "no sé", "nada", "tal vez", "quizás"}
    assert len(PHRASINGS) >= 40
    assert spanish <= {text for text, _ in PHRASINGS}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("I'm 25", "yes"),
        ("18", "yes"),
        ("18+", "yes"),
        ("over 18", "yes"),
        ("tengo 30 años", "yes"),
        ("soy mayor de edad", "yes"),
        ("17", "no"),
        ("I am 16", "no"),
        ("under 18", "no"),
        ("menor de edad", "no"),
        ("yes, 17", None),  # contradictory: ask again
        ("not sure", None),
        ("banana", None),
    ],
)
def test_adult_question_reads_ages(text, expected):
    assert read_adult(normalise(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "info"),
        ("2", "ride"),
        ("3", "officer"),
        ("option 2 please", "ride"),
        ("#2", "ride"),
        ("2.", "ride"),
        ("02", "ride"),
        ("two", "ride"),
        ("dos", "ride"),
        ("I need a ride", "ride"),
        ("quiero un viaje", "ride"),
        ("talk to an officer", "officer"),
        ("hablar con un oficial", "officer"),
        ("how it works", "info"),
        ("cómo funciona", "info"),
        ("4", None),
        ("1 or 2", None),
        ("9" * 500, None),
        ("banana", None),
        ("", None),
    ],
)
def test_welcome_choices_read_digits_and_words(text, expected):
    assert read_choice(normalise(text), WELCOME_CHOICES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "what_happens"),
        ("3", "warrants"),
        ("warrants?", "warrants"),
        ("órdenes", "warrants"),
        ("4 please", "cost"),
        ("is it free", "cost"),
        ("6", "privacy"),
        ("0", "back"),
        ("zero", "back"),
        ("volver", "back"),
        ("7", "pickup"),
        ("8", "treatment"),
        ("9", "waiting"),
        ("F", "family"),
        ("my friend", "family"),
        ("10", None),
    ],
)
def test_info_choices(text, expected):
    assert read_choice(normalise(text), INFO_CHOICES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HQ", ("hq", None)),
        ("hq please", ("hq", None)),
        ("Headquarters", ("hq", None)),
        ("1", ("hq", None)),
        ("the station", ("hq", None)),
        ("la jefatura", ("hq", None)),
        ("  QuikTrip, 291 & 3rd St  ", ("place", "QuikTrip, 291 & 3rd St")),
        ("S Main St and 3rd", ("place", "S Main St and 3rd")),
        ("Walmart\n\non Chipman", ("place", "Walmart on Chipman")),
        ("Parque 🌳 Legacy", ("place", "Parque Legacy")),
        ("7-Eleven", ("place", "7-Eleven")),
        ("", None),
        ("   ", None),
        ("🚗🚗", None),
        ("yes", None),
        ("no", None),
        ("idk", None),
        ("2", None),
        ("64086", None),
    ],
)
def test_place_is_trimmed_free_text_or_hq(text, expected):
    assert read_place(text) == expected


def test_place_is_capped_at_200_characters():
    kind, place = read_place("Corner of Main " + "x" * 1600)
    assert kind == "place"
    assert len(place) == 200


@pytest.mark.parametrize(
    ("text", "command", "language"),
    [
        ("overdose", "emergency", None),
        ("my friend is OD-ing", "emergency", None),
        ("he's NOT breathing!!", "emergency", None),
        ("She is unresponsive", "emergency", None),
        ("I think I'm dying", "emergency", None),
        ("sobredosis", "emergency", "es"),
        ("mi amigo no respira", "emergency", "es"),
        ("I want to kill myself", "crisis", None),
        ("feeling suicidal", "crisis", None),
        ("quiero morir", "crisis", "es"),
        ("STOP", "opt_out", None),
        (" stop ", "opt_out", None),
        ("Stop.", "opt_out", None),
        ("STOP PLEASE", "opt_out", None),
        ("please stop texting me", "opt_out", None),
        ("STOPALL", "opt_out", None),
        ("Unsubscribe", "opt_out", None),
        ("CANCEL", "opt_out", None),
        ("end", "opt_out", None),
        ("QUIT", "opt_out", None),
        ("revoke", "opt_out", None),
        ("OPTOUT", "opt_out", None),
        ("no más mensajes", "opt_out", "es"),
        ("para", "opt_out", "es"),
        ("START", "opt_in", None),
        ("unstop", "opt_in", None),
        ("HELP", "help", None),
        ("info", "help", None),
        ("Ayuda", "help", "es"),
        ("ES", "spanish", "es"),
        ("Español", "spanish", "es"),
        ("spanish", "spanish", "es"),
        ("EN", "english", None),
        ("English", "english", None),
        ("inglés", "english", None),
        ("MENU", "menu", None),
        ("Menú", "menu", None),
        ("STATUS", "status", None),
        ("status?", "status", None),
        ("estado", "status", "es"),
        ("CANCEL RIDE", "cancel_ride", None),
        ("cancel my ride please", "cancel_ride", None),
        ("cancelar", "cancel_ride", "es"),
        ("DELETE", "delete", None),
        ("borrar", "delete", "es"),
        ("yes", None, None),
        ("I want to stop using", None, None),
        ("the end of Main St", None, None),
        ("", None, None),
    ],
)
def test_global_words_any_case_punctuation_and_accents(text, command, language):
    assert read_command(text) == (command, language)


def test_voice_has_no_sms_opt_out_words():
    assert read_command("stop", channel="voice") == (None, None)
    assert read_command("help", channel="voice") == ("help", None)


def test_no_command_of_ours_is_a_twilio_opt_out_word():
    ours = {p for c in COMMANDS if c.name != "opt_out" for p in c.phrases}
    assert not ours & TWILIO_OPT_OUT


def test_every_phrase_is_written_normalised():
    tables = [c.phrases for c in COMMANDS]
    tables += [intents.NOT_SURE, intents.YES_PHRASES, intents.SPANISH_HINTS, tuple(intents.HQ)]
    tables += list(WELCOME_CHOICES.values()) + list(INFO_CHOICES.values())
    tables += [tuple(intents.YES), tuple(intents.NO)]
    for phrases in tables:
        for phrase in phrases:
            assert normalise(phrase) == phrase
