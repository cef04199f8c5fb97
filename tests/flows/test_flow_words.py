"""What the texts say: discreet when unasked, honest, kind to under-18s, plain, and good Spanish."""

import re

import pytest

from flows.texts import DISCREET_CHARS, UNSOLICITED, Catalog, is_unsolicited

from .conftest import FACTS, PARAMS

SHIPPED = Catalog()
# The longest names a department may give: the rule must hold with them too.
LONGEST = FACTS | {
    "program_name": "Safe Passage Recovery and Treatment Program",
    "department": {"en": "Lee's Summit Police Department", "es": "Departamento de Policía de Lee's Summit"},
}
CATALOG = Catalog(facts=LONGEST)


def rendered(language: str, key: str, catalog: Catalog = CATALOG) -> str:
    base = key.removesuffix(".voice")
    return catalog.render(base, language, PARAMS, "voice" if key.endswith(".voice") else "sms")


def texts(language: str, *, voice: bool | None = None) -> list[str]:
    keys = SHIPPED.keys(language)
    return [key for key in keys if voice is None or key.endswith(".voice") == voice]


UNASKED = [(language, key) for language in ("en", "es") for key in texts(language) if is_unsolicited(key)]
# Texts that open with a neutral sentence of their own rather than the opener ("Welcome back.").
OWN_OPENING = {"welcome_back", "status.none"}
LOCK_SCREEN_WORDS = re.compile(
    r"safe passage|lee's summit|polic|officer|oficial|agente|drug|droga|treatment|tratamiento"
    r"|overdos|sobredosis|warrant|arresto",
    re.IGNORECASE,
)


# ---- discreet by default ---------------------------------------------------------------------


def test_every_kind_of_unasked_text_is_declared():
    keys = {key for _, key in UNASKED}
    # Ride updates, the officer's words, the returning-person greeting: all held to the rule.
    assert {"status.accepted", "status.arriving", "status.no_officer", "status.completed"} <= keys
    assert {"status.cancelled", "relay.from_officer", "welcome_back"} <= keys
    assert not is_unsolicited("status.accepted.voice")  # spoken only when the person is on the line
    assert is_unsolicited("reminder.pickup") and is_unsolicited("status.changed_plans")  # later ones too
    assert UNSOLICITED  # one declaration, in flows/texts/catalog.py


@pytest.mark.parametrize(("language", "key"), UNASKED)
def test_unasked_texts_are_discreet_on_a_lock_screen(language, key):
    text = rendered(language, key)
    head = text[:DISCREET_CHARS]
    assert not LOCK_SCREEN_WORDS.search(head), head
    assert CATALOG.indiscreet(text, language) == "", head
    if key not in OWN_OPENING:
        opener = {"en": "Update on your request R7K2:", "es": "Aviso sobre su solicitud R7K2:"}[language]
        assert text.startswith(opener + "\n"), text


def test_the_relayed_words_start_after_the_discreet_part():
    catalog = Catalog(facts=LONGEST)
    for language in ("en", "es"):
        params = {"ref": "R7K2", "message": "Officer here, police car"}
        text = catalog.render("relay.from_officer", language, params)
        assert text.index("Officer here") >= DISCREET_CHARS, text
        assert catalog.indiscreet(text, language) == ""


def test_the_opener_is_the_program_files_and_a_careless_one_is_reported():
    mine = Catalog(facts=LONGEST | {"discreet_opener": {"en": "Re {ref}:", "es": "Sobre {ref}:"}})
    assert mine.render("status.accepted", "en", {"ref": "R7K2"}).startswith("Re R7K2:\n")
    assert mine.render("status.accepted", "es", {"ref": "R7K2"}).startswith("Sobre R7K2:\n")
    assert mine.problems(PARAMS) == []
    careless = Catalog(facts=LONGEST | {"discreet_opener": {"en": "Safe Passage police, ride {ref}:"}})
    found = careless.problems(PARAMS)
    assert "en status.accepted: 'polic' in its first 40 characters" in found
    named = Catalog(facts=FACTS | {"discreet_opener": "{program_name} {ref}:"})
    assert "en status.accepted: 'Safe Passage' in its first 40 characters" in named.problems(PARAMS)
    override = Catalog(overrides={"es": {"status.arriving": "Su oficial llega ya {ref}"}}, facts=LONGEST)
    assert "es status.arriving: 'oficial' in its first 40 characters" in override.problems(PARAMS)


# ---- honest ----------------------------------------------------------------------------------

NO_ARREST = re.compile(r"not arrested|no arrest|without arrest|sin arresto|no le arrestan", re.IGNORECASE)
WARRANT = re.compile(r"warrant|orden de arresto", re.IGNORECASE)
# Promises the program file does not hold, or that the department cannot make alone.
UNHELD = re.compile(
    r"turned away|se le niega|never used|nunca se usan|will be waived|se anular[aá]|guarantee|garantiza"
    r"|so you can enter treatment|para que entre a tratamiento|nobody will know|nadie sabr[aá]",
    re.IGNORECASE,
)
ALL = [(language, key) for language in ("en", "es") for key in texts(language)]


@pytest.mark.parametrize(("language", "key"), ALL)
def test_no_text_promises_what_the_program_file_does_not_state(language, key):
    template = SHIPPED._texts[language][key]
    assert not UNHELD.search(template), template
    text = rendered(language, key)
    if NO_ARREST.search(text):
        assert WARRANT.search(text), text  # "no arrest" only beside the warrant caveat


def test_the_honesty_check_can_fail():
    assert UNHELD.search(SHIPPED._texts["en"]["info.cost"] + " Nobody is turned away.")
    assert NO_ARREST.search(rendered("en", "info.what_happens"))


@pytest.mark.parametrize("language", ["en", "es"])
def test_cost_says_only_the_program_files_words(language):
    template = SHIPPED._texts[language]["info.cost"]
    assert "{insurance}" in template
    catalog = Catalog(facts=FACTS | {"insurance": "Ask us about cost."})
    text = catalog.render("info.cost", language)
    assert "Ask us about cost." in text and "free" not in text.lower() and "gratis" not in text.lower()


@pytest.mark.parametrize("language", ["en", "es"])
def test_privacy_says_what_is_kept_where_how_long_who_sees_and_what_delete_leaves(language):
    kept = rendered(language, "info.privacy") + " " + rendered(language, "info.privacy.delete")
    spoken = rendered(language, "info.privacy.voice") + " " + rendered(language, "info.privacy.delete.voice")
    for text in (kept, spoken):
        assert FACTS["retention_days"] in text and "Twilio" in text
        assert FACTS["records_commitment"][language] in text
        assert ("court" if language == "en" else "juez") in text  # the commitment's legal limit
        assert ("DELETE" if language == "en" else "BORRAR") in text
        assert ("What stays" if language == "en" else "Queda") in text
        assert ("yes or no answers" if language == "en" else "respuestas") in text
    assert "all now" not in kept and "never used" not in kept


@pytest.mark.parametrize("language", ["en", "es"])
def test_under_18_gets_988_and_samhsa_first_and_no_parent_first(language):
    text = rendered(language, "under_age")
    assert "988" in text and "1-800-662-4357" in text
    assert text.index("988") < text.index("1-800-662-4357") < text.index(FACTS["treatment_phone"])
    assert not re.search(r"parent|guardian|padre|tutor", text, re.IGNORECASE)
    without = Catalog(facts=FACTS | {"minors_partner": ""}).render("under_age", language)
    assert FACTS["treatment_phone"] not in without and "  " not in without
    assert "988" in without and "1-800-662-4357" in without


@pytest.mark.parametrize("key", ["info.pickup", "info.treatment", "info.waiting", "info.family"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_new_topics_answer_from_the_program_file(language, key):
    text = rendered(language, key)
    if key == "info.pickup":
        assert FACTS["pickup"][language].replace("{desk_phone}", FACTS["desk_phone"]) in text
    if key == "info.treatment":
        assert FACTS["treatment_stay"][language] in text and FACTS["treatment_phone"] in text
    if key == "info.waiting":
        assert "911" in text and ("naloxone" in text or "naloxona" in text)
    if key == "info.family":
        assert FACTS["hq_address"] in text
        assert ("must want help" if language == "en" else "tiene que querer ayuda") in text


# ---- plain words (reading levels: tests/app/test_texts_doc.py) ---------------------------

HARD = re.compile(r"paraphernalia|outstanding|encrypt|assessment|parafernalia|cifrad|evaluaci", re.I)


@pytest.mark.parametrize(("language", "key"), ALL)
def test_no_hard_words(language, key):
    assert not HARD.search(rendered(language, key))


# ---- Spanish ---------------------------------------------------------------------------------

SPANISH_FAULTS = re.compile(
    r"(?<!la )bienvenid|encontrarlo|\blo (encuentra|lleva|llevan)\b|est[aá] sol[oa]\b|\bsola\b|mostrador"
    r"|recepcion\b|\bHQ\b|agencia|Lee's Summit Police|llamando a los oficiales|no sabe\.|: no sabe"
    r"|\b(tienes|puedes|quieres|necesitas|est[aá]s|tu|te)\b|encuentra en afuera",
    re.IGNORECASE,
)
# A missing accent that changes the meaning ("si" is "if", "mas" is "but", "esta" is "this").
MEANING = re.compile(r"para si\b|que si\b|\bo mas\b|\besta (a salvo|en peligro|llegando)", re.IGNORECASE)
UNACCENTED = re.compile(
    r"\b(numero|aqui|todavia|oir|policia|dias|linea|direccion|entendi|donde|adios|rapidas|telefono"
    r"|recepcion|tambien|espanol|informacion|mas|si(?= o no| para)|esta(?= a salvo| en peligro))\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("key", texts("es"))
def test_spanish_reads_as_a_native_speaker_writes(key):
    text = rendered("es", key)
    assert not SPANISH_FAULTS.search(text), SPANISH_FAULTS.search(text)
    assert not MEANING.search(text), MEANING.search(text)


@pytest.mark.parametrize("key", texts("es", voice=True))
def test_spoken_spanish_carries_every_accent(key):
    text = rendered("es", key)
    assert not UNACCENTED.search(text), UNACCENTED.search(text)


def test_spanish_names_the_desk_one_way():
    names = {match.lower() for key in texts("es") for match in re.findall(r"recepci\w+", rendered("es", key))}
    assert names == {"recepción"}


def test_spanish_checks_can_fail():
    assert SPANISH_FAULTS.search("Bienvenido a Safe Passage. Responda HQ.")
    assert SPANISH_FAULTS.search("Orden de arresto: no sabe. No esta sola.")
    assert MEANING.search("Oprima 1 para si")
    assert UNACCENTED.search("Oprima 1 para si, 2 para no. El numero de la recepcion.")
