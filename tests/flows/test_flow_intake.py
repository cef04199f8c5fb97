"""The intake conversation as tables: state x message -> state, reply keys and effects."""

import json

import pytest

from flows import INTAKE, Effect, Event, Reply, Step
from flows.intake import PENDING, PROMPTS, SCREENING, STATES

FULL = {
    "safe": "yes",
    "adult": "yes",
    "handover": "no",
    "weapons": "no",
    "warrant": "no",
    "meet": "place",
    "place": "QuikTrip, 291 & 3rd St",
    "consent": "yes",
}
ORDER = ["safe", "adult", "handover", "weapons", "warrant", "meet", "consent"]
# What each screening state already knows when it asks its question.
KNOWN = {
    state: {k: FULL[k] for k in ORDER[:i]} | ({"place": FULL["place"]} if i > 5 else {})
    for i, state in enumerate(SCREENING)
}
KNOWN["confirm"] = dict(FULL)
WAITING = {"ref": "R7K2", "status": "waiting"}


def data_for(state: str | None, language: str = "en") -> dict:
    return {"language": language, "answers": dict(KNOWN.get(state, {})), "reasks": 0}


def send(state, text, *, language="en", data=None, channel="sms", **context) -> Step:
    data = data_for(state, language) if data is None else data
    return INTAKE.handle(state, data, Event(text, channel, context))


def keys(step: Step) -> list[str]:
    return [reply.key for reply in step.replies]


def kinds(step: Step) -> list[str]:
    return [effect.kind for effect in step.effects]


def talk(texts, *, state=None, data=None, **context) -> list[Step]:
    steps, data = [], data or {}
    for text in texts:
        step = INTAKE.handle(state, data, Event(text, context=context))
        steps.append(step)
        state, data = step.state, step.data
    return steps


# ---- every state x every kind of answer, both languages ----------------------------------

INPUTS = {
    "en": {
        "yes": "Yes",
        "no": "no.",
        "unsure": "not sure",
        "one": "1",
        "two": "option 2 please",
        "three": "3",
        "garbage": "banana",
        "empty": "",
        "blank": "   \n ",
        "emoji": "🙏🌹",  # a thumbs-up is a yes (test_flow_understanding.py)
        "long": "yes " * 400,
    },
    "es": {
        "yes": "Sí",
        "no": "No",
        "unsure": "no sé",
        "one": "1",
        "two": "opción 2",
        "three": "3",
        "garbage": "plátano",
        "empty": "",
        "blank": "   ",
        "emoji": "🙏",
        "long": "sí " * 533,
    },
}
KINDS = list(INPUTS["en"])
BLANK = {"empty", "blank", "emoji"}

# state -> {kind: (next state, first reply key)}; kinds not listed are re-asked in place.
EXPECTED = {
    "welcome": {
        "one": ("info", "info"),
        "two": ("ask_safe", "ask_safe"),
        "three": ("welcome", "callback.ask"),
    },
    "info": {
        "one": ("info", "info.what_happens"),
        "two": ("info", "info.bring"),
        "three": ("info", "info.warrants"),
    },
    "ask_safe": {
        "yes": ("ask_adult", "ask_adult"),
        "one": ("ask_adult", "ask_adult"),
        "no": ("welcome", "unsafe"),
        "two": ("welcome", "unsafe"),
    },
    "ask_adult": {
        "yes": ("ask_handover", "ask_handover"),
        "one": ("ask_handover", "ask_handover"),
        "no": ("welcome", "under_age"),
        "two": ("welcome", "under_age"),
    },
    "ask_handover": {kind: ("ask_weapons", "ask_weapons") for kind in ("yes", "one", "no", "two")},
    "ask_weapons": {
        "yes": ("ask_warrant", "weapons.safety"),
        "one": ("ask_warrant", "weapons.safety"),
        "no": ("ask_warrant", "ask_warrant"),
        "two": ("ask_warrant", "ask_warrant"),
    },
    # A yes or not sure is told the officer will know; a no still gets the honest warrant facts.
    "ask_warrant": {
        **{kind: ("ask_place", "warrant.told") for kind in ("yes", "one", "unsure", "three")},
        **{kind: ("ask_place", "info.warrants") for kind in ("no", "two")},
    },
    "ask_place": {
        "one": ("ask_consent", "ask_consent"),
        # Any words can name a place ("option 2 please" too): the confirm summary shows it.
        "garbage": ("ask_consent", "ask_consent"),
        "two": ("ask_consent", "ask_consent"),
    },
    "ask_consent": {kind: ("confirm", "confirm.place") for kind in ("yes", "one", "no", "two")},
    "confirm": {
        "yes": ("request_open", "request.sent"),
        "one": ("request_open", "request.sent"),
        "no": ("welcome", "confirm.dropped"),
        "two": ("welcome", "confirm.dropped"),
    },
}


def expected(state: str, kind: str) -> tuple[str, str]:
    if kind in EXPECTED[state]:
        return EXPECTED[state][kind]
    reask = "reask.empty" if kind in BLANK else f"{PROMPTS[state].split('.')[0]}.reask"
    return state, reask


MATRIX = [(state, kind, language) for state in EXPECTED for kind in KINDS for language in ("en", "es")]


@pytest.mark.parametrize(("state", "kind", "language"), MATRIX)
def test_every_state_and_kind_of_answer(state, kind, language):
    step = send(state, INPUTS[language][kind], language=language)
    assert (step.state, keys(step)[0]) == expected(state, kind)
    assert step.language == language


def test_matrix_covers_every_state():
    assert set(EXPECTED) | {"request_open"} == set(STATES)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["en", "es"])
def test_open_request_answers_anything_with_its_status(kind, language):
    step = send("request_open", INPUTS[language][kind], language=language, request=WAITING)
    assert step.state == "request_open"
    assert step.replies == [Reply("status.waiting", {"ref": "R7K2"})]
    assert step.effects == []


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_closed_request_ends_the_open_state(status):
    step = send("request_open", "ok thanks", request={"ref": "R7K2", "status": status})
    assert step.state == "welcome"
    assert keys(step) == [f"status.{status}"]


def test_open_state_without_a_request_says_so():
    step = send("request_open", "hello?")
    assert (step.state, keys(step)) == ("welcome", ["status.none"])


# ---- global words, in several states, with and without an open request -----------------

GLOBALS = [
    ("overdose", "emergency", "en"),
    ("He's not breathing!", "emergency", "en"),
    ("OD", "emergency", "en"),
    ("SOBREDOSIS", "emergency", "es"),
    ("no respira", "emergency", "es"),
    ("I want to kill myself", "crisis", "en"),
    ("quiero morir", "crisis", "es"),
    ("STOP", "opt_out", "en"),
    (" stop. ", "opt_out", "en"),
    ("please stop texting me", "opt_out", "en"),
    ("CANCEL", "opt_out", "en"),
    ("no más mensajes", "opt_out", "es"),
    ("START", "opt_in", "en"),
    ("UNSTOP", "opt_in", "en"),
    ("HELP", "help", "en"),
    ("INFO", "help", "en"),
    ("ayuda", "help", "es"),
    ("ES", "spanish", "es"),
    ("Español", "spanish", "es"),
    ("ENGLISH", "english", "en"),
    ("inglés", "english", "en"),
    ("MENU", "menu", "en"),
    ("menú", "menu", "en"),
    ("STATUS", "status", "en"),
    ("estado", "status", "es"),
    ("CANCEL RIDE", "cancel_ride", "en"),
    ("cancelar", "cancel_ride", "es"),
    ("DELETE", "delete", "en"),
    ("BORRAR", "delete", "es"),
]
GLOBAL_STATES = ["welcome", "info", "ask_weapons", "ask_place", "confirm", "request_open"]


def global_outcome(command, state, request):
    """Return (state, reply keys, effect kinds) a global word must give."""
    open_ = request is not None
    prompt = "status.waiting" if state == "request_open" and open_ else PROMPTS.get(state)
    if state == "request_open" and not open_:
        prompt = "status.none"
    status = "status.waiting" if open_ else "status.none"
    told = ".told.ride" if open_ else ".told"  # WAITING: the sergeant knows, no officer yet
    if command == "cancel_ride":
        if open_:
            return "welcome", ["cancel.done"], ["cancel_request"]
        if state in SCREENING:
            return "welcome", ["confirm.dropped"], []
        return state, ["cancel.none"], []
    return {
        "emergency": (state, ["emergency", "emergency" + told], ["alert_sergeant"]),
        "crisis": (state, ["crisis", "crisis" + told], ["alert_sergeant"]),
        "opt_out": ("request_open" if open_ else "welcome", [], ["opt_out"]),
        "opt_in": (state, ["opted_in"], ["opt_in"]),
        "help": (state, ["help"], []),
        "spanish": (state, [prompt], []),
        "english": (state, [prompt], []),
        "menu": ("welcome", ["welcome"], []),
        "status": (state, [status], []),
        "delete": (state, ["delete.confirm"], []) if open_ else ("welcome", ["deleted"], ["delete_data"]),
    }[command]


@pytest.mark.parametrize("request_", [None, WAITING], ids=["no-request", "open-request"])
@pytest.mark.parametrize("state", GLOBAL_STATES)
@pytest.mark.parametrize(("text", "command", "language"), GLOBALS)
def test_global_words_work_in_every_state(text, command, language, state, request_):
    start = "es" if command == "english" else "en"
    step = send(state, text, language=start, request=request_)
    assert (step.state, keys(step), kinds(step)) == global_outcome(command, state, request_)
    if command in ("spanish", "english") or language == "es":
        assert step.language == language


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("text", ["overdose", "sobredosis", "my friend won't wake up"])
def test_emergency_preempts_every_state_and_keeps_it(state, text):
    before = data_for(state)
    step = send(state, text, data=before, request=WAITING)
    assert step.state == state
    assert step.data["answers"] == (before["answers"] if state in SCREENING else {})
    assert step.effects == [Effect("alert_sergeant", {"reason": "emergency"})]
    assert keys(step) == ["emergency", "emergency.told.ride"]


def test_suicidal_words_alert_with_their_own_reason():
    step = send("ask_place", "honestly I want to die")
    assert step.effects == [Effect("alert_sergeant", {"reason": "suicide"})]
    assert (step.state, keys(step)) == ("ask_place", ["crisis", "crisis.told"])


def test_emergency_mid_screening_then_answer_continues():
    first = send("ask_weapons", "overdose")
    second = INTAKE.handle(first.state, first.data, Event("no"))
    assert (second.state, keys(second)) == ("ask_warrant", ["ask_warrant"])


def test_stop_sends_nothing_and_keeps_an_open_dispatch():
    step = send("ask_place", "STOP", request=WAITING)
    assert step.replies == []
    assert step.effects == [Effect("opt_out")]
    assert step.state == "request_open"
    assert kinds(send("request_open", "STATUS", request=WAITING)) == []


def test_a_spanish_command_switches_the_reply_language():
    step = send("welcome", "ESTADO")
    assert step.language == "es"
    assert step.data["language"] == "es"


def test_language_switch_resends_the_current_question():
    step = send("ask_adult", "ES")
    assert (step.state, step.language, keys(step)) == ("ask_adult", "es", ["ask_adult"])
    back = INTAKE.handle(step.state, step.data, Event("english"))
    assert (back.state, back.language, keys(back)) == ("ask_adult", "en", ["ask_adult"])


# ---- opted out -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reply", "effect"),
    [
        ("START", "opted_in", "opt_in"),
        ("unstop", "opted_in", "opt_in"),
        ("YES", "opted_in", "opt_in"),  # Twilio re-subscribes on YES as well
        ("HELP", "help", None),
        ("overdose", "emergency", "alert_sergeant"),
    ],
)
def test_opted_out_only_start_help_and_emergency_answer(text, reply, effect):
    step = send("welcome", text, opted_out=True)
    assert keys(step)[:1] == [reply]
    assert kinds(step) == ([effect] if effect else [])


@pytest.mark.parametrize("text", ["2", "MENU", "STATUS", "hello", "", "STOP", "DELETE", "ES"])
@pytest.mark.parametrize("state", ["welcome", "ask_place", "request_open", None, "gone"])
def test_opted_out_gets_silence(text, state):
    step = send(state, text, opted_out=True, request=WAITING)
    assert step.replies == []
    assert step.effects == []
    assert step.state == (state if state in STATES else "welcome")


# ---- full ride paths ----------------------------------------------------------------------

EN_RIDE = ["hi", "2", "yes", "yep", "no", "no", "no", "  QuikTrip, 291 & 3rd St ", "ok", "YES"]
ES_RIDE = ["Hola", "2", "sí", "tengo 25", "sí", "No.", "no sé", "HQ", "nel", "Sí"]
VOICE_RIDE = ["", "2", "1", "1", "2", "1", "3", "1", "2", "1"]


@pytest.mark.parametrize(
    ("texts", "language", "answers"),
    [
        (EN_RIDE, "en", FULL),
        (
            ES_RIDE,
            "es",
            FULL
            | {"handover": "yes", "warrant": "not_sure", "meet": "hq", "place": None}
            | {"consent": "no"},
        ),
        (
            VOICE_RIDE,
            "en",
            FULL
            | {"handover": "no", "weapons": "yes", "warrant": "not_sure"}
            | {"meet": "hq", "place": None, "consent": "no"},
        ),
    ],
    ids=["english", "spanish", "keypad"],
)
def test_full_ride_path_sends_exactly_one_request(texts, language, answers):
    steps = talk(texts)
    assert [s.state for s in steps][-2:] == ["confirm", "request_open"]
    rides = [e for s in steps for e in s.effects if e.kind == "request_ride"]
    assert rides == [Effect("request_ride", {"answers": answers})]
    assert steps[-1].language == language
    assert keys(steps[-1]) == ["request.sent"]
    assert steps[-1].data["answers"] == {}  # nothing personal lingers after screening
    assert all(isinstance(v, str) or v is None for v in rides[0].params["answers"].values())


def test_confirm_summary_carries_the_answers_and_place():
    steps = talk(EN_RIDE[:-1])
    summary = steps[-1].replies[0]
    assert summary == Reply(
        "confirm.place",
        {
            "place": "QuikTrip, 291 & 3rd St",
            "handover": "no",
            "weapons": "no",
            "warrant": "no",
            "consent": "yes",
        },
    )
    hq = talk(ES_RIDE[:-1])[-1].replies[0]
    assert hq.key == "confirm.hq"


def test_no_at_confirm_sends_nothing_and_offers_the_menu():
    steps = talk([*EN_RIDE[:-1], "no"])
    assert (steps[-1].state, keys(steps[-1])) == ("welcome", ["confirm.dropped"])
    assert not any(e.kind == "request_ride" for s in steps for e in s.effects)


def test_confirm_with_a_request_already_open_does_not_send_another():
    step = send("confirm", "yes", request=WAITING)
    assert (step.state, keys(step), step.effects) == ("request_open", ["status.waiting"], [])


def test_confirm_with_missing_answers_starts_the_questions_again():
    step = send("confirm", "yes", data={"answers": {"safe": "yes"}})
    assert (step.state, keys(step), step.effects) == ("ask_safe", ["ask_safe"], [])


def test_ride_choice_with_a_request_open_reports_it_instead():
    step = send("welcome", "2", request={"ref": "R7K2", "status": "accepted"})
    assert (step.state, keys(step)) == ("request_open", ["status.accepted"])


def test_unsafe_alerts_the_sergeant():
    step = send("ask_safe", "no")
    assert step.effects == [Effect("alert_sergeant", {"reason": "unsafe"})]


def test_under_18_gets_resources_and_no_dispatch():
    steps = talk(["hi", "2", "yes", "I'm 16"])
    assert (steps[-1].state, keys(steps[-1])) == ("welcome", ["under_age"])
    assert all(s.effects == [] for s in steps)


def test_weapons_yes_is_a_safety_note_not_a_stop():
    step = send("ask_weapons", "yes")
    assert keys(step) == ["weapons.safety", "ask_warrant"]


def test_talk_to_an_officer_asks_when_it_is_safe_to_call_then_requests_a_callback():
    step = send("welcome", "3")
    assert (step.effects, keys(step)) == ([], ["callback.ask"])
    then = INTAKE.handle(step.state, step.data, Event("after 5pm"))
    assert then.effects == [Effect("request_callback", {"when": "after 5pm"})]
    assert keys(then) == ["callback.requested"]


@pytest.mark.parametrize("status", ["waiting", "accepted", "arriving", "no_officer"])
def test_cancel_ride_cancels_an_open_request(status):
    step = send("request_open", "cancel ride", request={"ref": "R7K2", "status": status})
    assert step.effects == [Effect("cancel_request")]
    assert step.replies == [Reply("cancel.done", {"ref": "R7K2"})]


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_cancel_ride_on_a_closed_request_says_none_is_open(status):
    step = send("welcome", "CANCEL RIDE", request={"ref": "R7K2", "status": status})
    assert (step.effects, keys(step)) == ([], ["cancel.none"])


# ---- re-asks, empty messages, idle, lost states --------------------------------------------


def test_unclear_twice_then_the_desk_and_the_count_resets():
    steps = talk(["what", "huh", "banana", "nope", "yes"], state="ask_safe", data={})
    assert [keys(s) for s in steps] == [
        ["ask_safe.reask"],
        ["ask_safe.reask"],
        ["reask.desk"],
        ["unsafe"],
        ["welcome.reask"],
    ]
    assert [s.data["reasks"] for s in steps] == [1, 2, 3, 0, 1]


def test_desk_offer_repeats_without_looping_back_to_reasks():
    steps = talk(["huh?"] * 5, state="welcome", data={})
    assert [keys(s)[0] for s in steps] == ["welcome.reask"] * 2 + ["reask.desk"] * 3
    assert all(s.state == "welcome" for s in steps)


def test_empty_message_asks_for_text():
    step = send("ask_adult", "")
    assert (step.state, keys(step)) == ("ask_adult", ["reask.empty"])


def test_non_latin_text_is_unclear_not_empty():
    step = send("ask_adult", "привет")
    assert keys(step) == ["ask_adult.reask"]


def test_new_conversation_gets_the_welcome():
    step = send(None, "hi")
    assert (step.state, keys(step), step.language) == ("welcome", ["welcome"], "en")


def test_new_conversation_in_spanish_gets_the_spanish_welcome():
    step = send(None, "hola, necesito ayuda")
    assert (step.state, keys(step), step.language) == ("welcome", ["welcome"], "es")


def test_idle_conversation_starts_over():
    step = send("ask_place", "Walmart", idle=True)
    assert (step.state, keys(step), step.data["answers"]) == ("welcome", ["welcome"], {})


def test_idle_with_an_open_request_says_welcome_back_with_its_status():
    step = send("welcome", "hello", idle=True, request={"ref": "R7K2", "status": "accepted"})
    assert step.state == "request_open"
    assert step.replies == [Reply("welcome_back"), Reply("status.accepted", {"ref": "R7K2"})]


def test_idle_keeps_the_language():
    step = send("ask_place", "hola", language="es", idle=True)
    assert step.language == "es"


@pytest.mark.parametrize("stored", ["ask_zodiac", "", "WELCOME", "waiting"])
def test_unknown_stored_state_resets_with_an_apology(stored):
    step = send(stored, "yes", data={"answers": {"safe": "yes"}})
    assert (step.state, keys(step), step.data["answers"]) == (
        "welcome",
        ["reset.sorry", "welcome"],
        {},
    )


def test_unknown_stored_state_still_honours_an_emergency():
    step = send("ask_zodiac", "overdose")
    assert (step.state, keys(step)) == ("welcome", ["emergency", "emergency.told"])


@pytest.mark.parametrize(
    "data",
    [None, {}, [], "junk", {"language": "fr", "answers": "x", "reasks": -3}],
)
def test_malformed_data_never_crashes(data):
    step = INTAKE.handle("ask_adult", data, Event("yes"))
    assert (step.state, step.language) == ("ask_handover", "en")


NASTY = [
    "",
    " ",
    "🙏" * 800,
    "x" * 1600,
    "<Response>&]]>",
    "\x00\x01\x7f",
    "\u200b\u200f",
    "'; DROP TABLE dispatch; --",
    "٣",
    "{place} {0} {__class__}",
]


@pytest.mark.parametrize("state", [*STATES, None, "gone"])
@pytest.mark.parametrize("text", NASTY)
def test_odd_texts_never_crash_and_always_answer(state, text):
    step = send(state, text)
    assert step.state in STATES
    assert step.replies
    json.dumps(step.data)


def test_handle_is_pure():
    data = data_for("ask_consent")
    frozen = json.dumps(data, sort_keys=True)
    first = INTAKE.handle("ask_consent", data, Event("yes"))
    second = INTAKE.handle("ask_consent", data, Event("yes"))
    assert json.dumps(data, sort_keys=True) == frozen
    assert first == second


# ---- every reply tells the person what happens next -----------------------------------------

NEXT = {
    "en": ("reply", "text", "call", "press", "dial"),
    "es": ("responda", "escriba", "llame", "oprima", "marque"),
}
STATUSES = ["waiting", "accepted", "arriving", "no_officer", "completed", "cancelled", "lost"]
CONTEXTS = [{}, {"idle": True}] + [{"request": {"ref": "R7K2", "status": s}} for s in STATUSES]
CONTEXTS += [{"request": {"ref": "R7K2", "status": s, "kind": "callback"}} for s in ("waiting", "accepted")]
CONTEXTS += [{"nobody_on_duty": True}]
SAMPLES = sorted({text for table in INPUTS.values() for text in table.values()})
SAMPLES += [text for text, _, _ in GLOBALS] + ["Walmart", "HQ", "17", "25", "4", "5", "6"]
SAMPLES += ["7", "8", "9", "F"]  # pickup, at treatment, while you wait, family and friends
SAMPLES += ["I think I overdosed", "im at the walgreens now", "changed my mind", "after 5pm", "1", "2", "3"]
SAMPLES += ["i took too many pills i want to die"]
SAMPLES += ["will i get arrested?", "me van a arrestar?", "is it free", "hi", "I need a ride"]


def variants(state, language):
    """Return the data a state may hold besides its fresh answers."""
    fresh = data_for(state, language)
    found = [fresh | {"reasks": 2}]
    if state == "confirm":
        found.append(fresh | {"answers": FULL | {"meet": "hq", "place": None}})
    found += [fresh | {"pending": pending, "new_place": "Walgreens"} for pending in PENDING]
    return found


def explore():
    """Yield (state, text, step) for every state, language, context and sample text."""
    for state in [*STATES, None, "gone"]:
        for language in ("en", "es"):
            runs = [(data_for(state, language), context) for context in CONTEXTS]
            runs += [(data, {}) for data in variants(state, language)]
            runs += [(data, {"request": WAITING}) for data in variants(state, language)]
            for data, context in runs:
                for text in SAMPLES:
                    yield state, text, send(state, text, data=data, **context)


@pytest.fixture(scope="module")
def journeys():
    return list(explore())


def test_every_path_ends_with_what_happens_next(journeys, catalog):
    for state, text, step in journeys:
        if step.effects == [Effect("opt_out")]:
            assert step.replies == []  # Twilio answers STOP itself
            continue
        assert step.replies, (state, text)
        last = catalog.render(step.replies[-1].key, step.language, step.replies[-1].params)
        lowered = last.lower()
        assert any(word in lowered for word in NEXT[step.language]), (state, text, last)


def test_every_reply_key_exists_and_every_text_is_used(journeys, catalog):
    used = {reply.key for *_, step in journeys for reply in step.replies}
    for language in ("en", "es"):
        shipped = {k for k in catalog.keys(language) if not k.endswith(".voice")}
        assert used <= shipped, used - shipped
        # Rendered by the service, not sent by the flow: enum words, the no-database answer and
        # the answer on the staff number.
        rendered_elsewhere = {
            "answer.yes",
            "answer.no",
            "answer.not_sure",
            "service_unavailable",
            "relay.from_officer",
            "staff_line",
        }
        # Spanish phrases for answers ("answer.weapons.no") go into the confirm summary.
        rendered_elsewhere |= {key for key in shipped if key.startswith("answer.")}
        assert shipped - rendered_elsewhere <= used, shipped - used


def test_unknown_request_status_is_not_reported_as_none():
    step = send("request_open", "?", request={"ref": "R7K2", "status": "exploded"})
    assert step.replies == [Reply("status.unknown", {"ref": "R7K2"})]


ON_THE_WAY = {"en": ("on the way", "arriving"), "es": ("en camino", "casi llegan")}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("language", ["en", "es"])
def test_only_an_accepted_request_says_an_officer_is_coming(status, language, catalog):
    step = send("request_open", "?", request={"ref": "R7K2", "status": status})
    text = catalog.render(step.replies[0].key, language, step.replies[0].params)
    coming = any(phrase in text for phrase in ON_THE_WAY[language])
    assert coming == (status in ("accepted", "arriving")), text
    assert "R7K2" in text


def test_no_officer_gives_hq_address_and_desk(catalog, facts):
    step = send("request_open", "?", request={"ref": "R7K2", "status": "no_officer"})
    for language in ("en", "es"):
        text = catalog.render(step.replies[0].key, language, step.replies[0].params)
        assert facts["hq_address"] in text
        assert facts["desk_phone"] in text
        assert "24/7" in text
