"""Shared fixtures for the flow tests: realistic (long) program facts and a catalog."""

import pytest

from flows.texts import LONGEST_PARAMS, Catalog

# Long on purpose: the segment budget must hold with real Lee's Summit facts.
FACTS = {
    "program_name": "Safe Passage",
    "department": {
        "en": "Lee's Summit Police Department",
        "es": "Departamento de Policía de Lee's Summit",
    },
    "hq_address": "10 NE Tudor Rd, Lee's Summit, MO 64086",
    "desk_phone": "(816) 969-7407",
    "treatment_partner": "ReDiscover Mental Health",
    "treatment_phone": "(816) 555-0123",
    "crisis_line": "988",
    "good_samaritan": {
        "en": "Missouri's Good Samaritan law protects you and the person you help from arrest "
        "for possession when you call 911 for an overdose.",
        "es": "La ley del Buen Samaritano de Missouri le protege de arresto por tener drogas a usted "
        "y a quien ayuda cuando llama al 911 por una sobredosis.",
    },
    "retention_days": "365",
    # The shipped program file's sentences, a little longer, so a department has room to edit.
    "discreet_opener": {"en": "Update on your request {ref}:", "es": "Aviso sobre su solicitud {ref}:"},
    "records_commitment": {
        "en": "We do not use these records to investigate or charge you.",
        "es": "No usamos estos datos para investigarle ni acusarle.",
    },
    "insurance": {
        "en": "The program is free. If you have insurance, treatment may use it. The program says "
        "nobody is turned away for having no insurance.",
        "es": "El programa es gratis. Si tiene seguro médico, el tratamiento puede usarlo. El programa "
        "dice que a nadie se le niega la ayuda por no tener seguro.",
    },
    "pickup": {
        "en": "An officer on duty comes to the place you chose and drives you there. To ask what car "
        "will come, call the desk: {desk_phone}.",
        "es": "Un oficial de turno va a buscarle al lugar acordado y le lleva. Para saber en qué auto "
        "va, llame al {desk_phone}.",
    },
    "treatment_stay": {
        "en": "Staff there talk with you about the right care: staying there, or visits from home. "
        "The program is voluntary: it is your choice.",
        "es": "El personal habla con usted sobre la ayuda que le sirve: quedarse a dormir o ir desde "
        "su casa. Es voluntario: usted decide.",
    },
    "minors_partner": {
        "en": "You can also call {treatment_partner}, who helps young people: {treatment_phone}.",
        "es": "También puede llamar a {treatment_partner}, que atiende a menores: {treatment_phone}.",
    },
}
PARAMS = LONGEST_PARAMS


@pytest.fixture
def facts() -> dict:
    return FACTS


@pytest.fixture
def params() -> dict:
    return PARAMS


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(facts=FACTS)
