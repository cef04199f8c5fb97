"""Shared fixtures for the flow tests: realistic (long) program facts and a catalog."""

import pytest

from flows.texts import Catalog

# Long on purpose: the segment budget must hold with real Lee's Summit facts.
FACTS = {
    "program_name": "Safe Passage",
    "department": {
        "en": "Lee's Summit Police Department",
        "es": "Departamento de Policia de Lee's Summit",
    },
    "hq_address": "10 NE Tudor Rd, Lee's Summit, MO 64086",
    "desk_phone": "(816) 969-7407",
    "treatment_partner": "ReDiscover Mental Health",
    "treatment_phone": "(816) 555-0123",
    "crisis_line": "988",
    "good_samaritan": {
        "en": "Missouri's Good Samaritan law protects you and the person you help from arrest "
        "for possession when you call 911 for an overdose.",
        "es": "La ley del Buen Samaritano de Missouri protege de arresto por posesion a usted y "
        "a quien ayuda cuando llama al 911 por una sobredosis.",
    },
    "retention_days": "30",
}
# The longest values a message fills in: a 60-character place, the longest enum answer.
PARAMS = {
    "ref": "R7K2",
    "place": "QuikTrip, corner of Highway 291 and SW 3rd St, Lee's Summit",
    "handover": "not_sure",
    "weapons": "not_sure",
    "warrant": "not_sure",
    "consent": "not_sure",
    "message": "Grey Ford at the pumps in 5 min, I am in uniform",
}


@pytest.fixture
def facts() -> dict:
    return FACTS


@pytest.fixture
def params() -> dict:
    return PARAMS


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(facts=FACTS)
