"""docs/texts.md, reading levels, and the program file's wording settings."""

import re
from pathlib import Path

import pytest

from flows.texts import Catalog, is_unsolicited
from hotline import texts_doc
from hotline.plumbing.config import ConfigError
from hotline.plumbing.program import load_program

DEFAULT_PROGRAM = texts_doc.PROGRAM
HOTLINE = Path(texts_doc.__file__).resolve().parent


def program_with(tmp_path, old: str, new: str):
    text = DEFAULT_PROGRAM.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "program.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_program(path)


def test_the_published_page_matches_the_catalogs():
    page = texts_doc.document(load_program(DEFAULT_PROGRAM))
    assert texts_doc.DOC.read_text(encoding="utf-8") == page, "regenerate: make texts"
    assert texts_doc.main(["--check"]) == 0


def test_the_page_shows_every_text_in_both_languages_with_figures():
    page = texts_doc.document(load_program(DEFAULT_PROGRAM))
    catalog = texts_doc.catalog_for(load_program(DEFAULT_PROGRAM))
    for key in catalog.keys("en"):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{key}`"))
        assert row.count("*") >= 4, row  # a figure under each language
        assert ("grade" in row) and ("spoken" in row if key.endswith(".voice") else "segment" in row)
    assert "| `status.accepted` (unasked) |" in page
    assert "Update on your request R7K2:" in page and "Aviso sobre su solicitud R7K2:" in page
    assert "{" not in page.replace("{ref}", "")  # every fact filled in from the program file


def test_english_reads_at_about_a_sixth_grade_level():
    catalog = texts_doc.catalog_for(load_program(DEFAULT_PROGRAM))
    found = texts_doc.grades(catalog)
    for key, grade in sorted(found.items(), key=lambda item: -item[1]):
        print(f"grade {grade:5.1f}  {key}")  # `pytest -s` prints the figure per text
    figures = texts_doc.summary(catalog)
    print("mean {mean:.1f}, median {median:.1f}, max {max:.1f}, over grade 8: {over:.0f}".format(**figures))
    assert figures["mean"] <= 6 and figures["median"] <= 6
    assert figures["over"] == 0, max(found, key=found.get)


def test_the_reading_level_tells_hard_from_plain():
    hard = "Outstanding warrants are adjudicated notwithstanding any voluntary rehabilitation assessment."
    assert texts_doc.grade(hard) > 12
    assert texts_doc.grade("Are you safe right now? Reply YES or NO.") < 4
    menu = texts_doc.grade("1 What happens\n2 What to bring")
    assert menu == texts_doc.grade("1 What happens. 2 What to bring.")


# ---- the program file's wording settings -----------------------------------------------------


def test_the_shipped_program_file_states_its_wording_and_fits():
    program = load_program(DEFAULT_PROGRAM)
    facts = program.facts()
    opener = {"en": "Update on your request {ref}:", "es": "Aviso sobre su solicitud {ref}:"}
    assert facts["discreet_opener"] == opener
    assert facts["department"] == {"en": program.department, "es": "Policía de Lee's Summit"}
    assert program.serves_minors is False and facts["minors_partner"] == ""
    for name in ("records_commitment", "insurance", "pickup", "treatment_stay"):
        assert set(facts[name]) == {"en", "es"}, name
    catalog = texts_doc.catalog_for(program)
    assert catalog.problems(texts_doc.PARAMS) == []
    # The shipped file does not say the partner serves minors: under-18s do not get its line.
    assert "(816) 966-0900" not in catalog.render("under_age", "en")


def test_a_partner_that_serves_minors_is_named_to_under_18s(tmp_path):
    program = program_with(tmp_path, "serves_minors = false", "serves_minors = true")
    catalog = texts_doc.catalog_for(program)
    for language in ("en", "es"):
        text = catalog.render("under_age", language)
        assert "ReDiscover" in text and "(816) 966-0900" in text
        assert text.index("988") < text.index("1-800-662-4357") < text.index("(816) 966-0900")


def test_serves_minors_must_be_true_or_false(tmp_path):
    with pytest.raises(ConfigError, match="serves_minors"):
        program_with(tmp_path, "serves_minors = false", 'serves_minors = "yes"')


def test_a_department_changes_the_opener_and_must_keep_one(tmp_path):
    program = program_with(
        tmp_path, 'discreet_opener = "Update on your request {ref}:"', 'discreet_opener = "Note {ref}:"'
    )
    catalog = texts_doc.catalog_for(program)
    assert catalog.render("status.arriving", "en", {"ref": "R7K2"}).startswith("Note R7K2:\n")
    with pytest.raises(ConfigError, match=r"\[privacy.es\] discreet_opener"):
        program_with(tmp_path, 'discreet_opener = "Aviso sobre su solicitud {ref}:"', "")


def test_the_records_commitment_is_the_program_files_with_its_legal_limit(tmp_path):
    program = program_with(
        tmp_path,
        'records_commitment = "We do not use these records to investigate or charge you."',
        'records_commitment = "We share nothing unless the law requires it."',
    )
    text = texts_doc.catalog_for(program).render("info.privacy", "en")
    assert "We share nothing unless the law requires it." in text
    assert "investigate" not in text and "court can order records shared" in text


# ---- every text the hotline sends unasked is held to the discreet rule ---------------------

SENT_LATER = [
    # tell_participant(session, rt, dispatch, "status.accepted") and f"status.{status}"
    re.compile(r"tell_participant\(\s*[\w.]+,\s*[\w.]+,\s*[\w.]+,\s*f?\"([^\"]+)\""),
    # rendered in the request's language for a text queued to the participant later
    re.compile(r"catalog\.render\(\s*f?\"([^\"]+)\",\s*dispatch\.language"),
]


def test_every_text_the_service_sends_unasked_is_declared_unsolicited():
    found = set()
    for path in sorted(HOTLINE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for pattern in SENT_LATER:
            found |= {(path.name, key.split("{")[0]) for key in pattern.findall(source)}
    assert ("rides.py", "status.accepted") in found and ("relays.py", "relay.from_officer") in found
    undeclared = sorted((name, key) for name, key in found if not is_unsolicited(key or "x"))
    assert undeclared == [], "add these keys to UNSOLICITED in flows/texts/catalog.py"


def test_the_discreet_rule_holds_for_what_the_service_sends():
    catalog = texts_doc.catalog_for(load_program(DEFAULT_PROGRAM))
    for key in [
        f"status.{status}" for status in ("accepted", "arriving", "no_officer", "completed", "cancelled")
    ]:
        for language in ("en", "es"):
            text = catalog.render(key, language, {"ref": "R7K2"})
            assert catalog.indiscreet(text, language) == "", text
    loud = Catalog(overrides={"en": {"status.accepted": "Officer on the way {ref}"}})
    assert loud.indiscreet(loud.render("status.accepted", "en", {"ref": "R7K2"}), "en") == "Officer"
