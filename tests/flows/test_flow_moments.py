"""The moments that matter, in the flow: crisis check-in, overdose guidance, DELETE with a request
open, changed plans, call-backs and nobody on duty."""

import pytest

from flows import INTAKE, Effect, Event
from flows.plans import is_about_self, read_new_place
from tests.flows.test_flow_intake import WAITING, data_for, keys, kinds, send

ACCEPTED = {"ref": "R7K2", "status": "accepted"}
OFFERED = {"ref": "R7K2", "status": "offered"}


def then(step, text, channel="sms", **context):
    return INTAKE.handle(step.state, step.data, Event(text, channel, context))


# ---- suicidal words: 988 first, the questions pause, the person chooses -------------------


def test_suicidal_words_pause_the_question_and_the_next_no_does_not_answer_it():
    step = send("ask_handover", "i want to kill myself")
    assert (step.state, keys(step), kinds(step)) == (
        "ask_handover",
        ["crisis", "crisis.told"],
        ["alert_sergeant"],
    )
    after = then(step, "no")
    assert after.state == "ask_handover", "the hand-over question was not answered by 'no'"
    assert "handover" not in after.data["answers"]
    # "no" to "are you safe right now?": 911 first, then 988, and the sergeant is told again.
    assert (keys(after), kinds(after)) == (["crisis.unsafe"], ["alert_sergeant"])
    assert keys(then(after, "2")) == ["crisis.talk"]
    going_on = then(after, "1")
    assert (going_on.state, keys(going_on)) == ("ask_handover", ["ask_handover"])
    assert going_on.data["answers"] == data_for("ask_handover")["answers"], "answers so far are kept"
    answered = then(going_on, "no")
    assert (answered.state, answered.data["answers"]["handover"]) == ("ask_weapons", "no")


@pytest.mark.parametrize("language", ["en", "es"])
def test_crisis_text_puts_988_before_911_and_spanish_says_press_2(language, catalog):
    text = catalog.render("crisis", language)
    assert text.index("988") < text.index("911")
    if language == "es":
        assert "oprima 2" in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_check_in_says_truthfully_whether_anyone_is_coming(language, catalog):
    alone = catalog.render("crisis.told", language).lower()
    assert (
        "does not mean police are coming" if language == "en" else "no quiere decir que vaya la policia"
    ) in alone
    step = send("request_open", "I want to end my life", request=ACCEPTED, language=language)
    assert keys(step) == ["crisis", "crisis.told.officer"]
    told = catalog.render("crisis.told.officer", language, {"ref": "R7K2"})
    assert "R7K2" in told and ("still coming" if language == "en" else "sigue en camino") in told


def test_stop_for_now_ends_the_questions_but_never_an_open_request():
    paused = send("ask_weapons", "i want to die")
    stopped = then(paused, "3")
    assert (stopped.state, keys(stopped), stopped.data["answers"]) == ("welcome", ["crisis.stopped"], {})
    with_ride = send("request_open", "i want to die", request=WAITING)
    kept = then(with_ride, "3", request=WAITING)
    assert (kept.state, keys(kept), kept.effects) == ("request_open", ["crisis.stopped.ride"], [])


def test_an_unclear_reply_to_the_check_in_asks_again_and_menu_ends_the_pause():
    paused = send("ask_place", "suicidal")
    again = then(paused, "Walmart on 3rd")
    assert (again.state, keys(again)) == ("ask_place", ["crisis.reask"])
    assert "place" not in again.data["answers"], "not taken as the meeting place"
    menu = then(again, "MENU")
    assert (menu.state, keys(menu)) == ("welcome", ["welcome"])
    assert "pending" not in menu.data


def test_calls_keep_their_spoken_path():
    step = send("ask_handover", "i want to kill myself", channel="voice")
    assert keys(step) == ["crisis"] and "pending" not in step.data


# ---- emergencies: the person alone, or someone with them ---------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("I think I overdosed", "emergency.self"),
        ("i od'd i cant breathe", "emergency.self"),
        ("me tome demasiado, sobredosis", "emergency.self"),
        ("my friend just ODd hes not breathing", "emergency"),
        ("he's not breathing", "emergency"),
    ],
)
def test_overdose_guidance_fits_who_is_in_danger(text, key):
    assert keys(send("welcome", text))[0] == key
    assert is_about_self(key and text.lower().replace("'", "")) == (key == "emergency.self")


@pytest.mark.parametrize("language", ["en", "es"])
def test_both_overdose_texts_call_911_first_and_keep_the_good_samaritan_words(language, catalog, facts):
    alone = catalog.render("emergency.self", language)
    bystander = catalog.render("emergency", language)
    for text in (alone, bystander):
        assert "911" in text.split("\n")[0]
        assert facts["good_samaritan"][language] in text
    assert ("Unlock the door" if language == "en" else "Quite el seguro de la puerta") in alone
    assert ("rescue breaths" if language == "en" else "respiraciones de rescate") in bystander
    assert ("on their side" if language == "en" else "de lado") in bystander


@pytest.mark.parametrize(
    ("request_", "told"),
    [(None, "emergency.told"), (WAITING, "emergency.told.ride"), (OFFERED, "emergency.told.officer")],
)
def test_the_emergency_answer_says_who_was_told(request_, told):
    step = send("request_open" if request_ else "welcome", "overdose", request=request_)
    assert keys(step) == ["emergency", told]
    assert step.replies[1].params["ref"] == ("R7K2" if request_ else "")


# ---- DELETE with a request open ----------------------------------------------------------


@pytest.mark.parametrize("word", ["DELETE", "BORRAR"])
def test_delete_with_a_request_open_asks_first_and_yes_erases_and_cancels(word):
    asked = send("request_open", word, request=ACCEPTED)
    assert (asked.state, keys(asked), asked.effects) == ("request_open", ["delete.confirm"], [])
    done = then(asked, "yes", request=ACCEPTED)
    assert (done.state, keys(done), kinds(done)) == ("welcome", ["deleted"], ["delete_data"])


@pytest.mark.parametrize("reply", ["no", "wait what", "ok", "2"])
def test_delete_then_anything_but_yes_keeps_the_request_and_says_so(reply):
    asked = send("request_open", "delete", request=WAITING)
    kept = then(asked, reply, request=WAITING)
    assert (kept.state, keys(kept), kept.effects) == ("request_open", ["delete.kept"], [])


def test_delete_without_a_request_erases_at_once():
    step = send("welcome", "DELETE")
    assert (keys(step), kinds(step)) == (["deleted"], ["delete_data"])


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_delete_answer_says_what_is_erased_and_what_remains(language, catalog):
    text = catalog.render("deleted", language).lower()
    words = {
        "en": [
            "number",
            "pickup place",
            "twilio",
            "what stays",
            "code made from your number",
            "yes/no",
            "times",
        ],
        "es": [
            "numero",
            "lugar de encuentro",
            "twilio",
            "queda",
            "clave hecha de su numero",
            "si/no",
            "horas",
        ],
    }[language]
    assert all(word in text for word in words), text


# ---- changed plans before an officer accepts ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("actually im at the walgreens across the street now", "the walgreens across the street"),
        ("I'm now at 1200 NE Douglas St", "1200 NE Douglas St"),
        ("meet me at the QuikTrip on 3rd instead", "the QuikTrip on 3rd"),
        ("ahora estoy en la gasolinera de la calle 5", "la gasolinera de la calle 5"),
        ("400 SW Main Street", "400 SW Main Street"),
    ],
)
def test_a_new_place_is_confirmed_then_sent(text, place):
    asked = send("request_open", text, request=OFFERED)
    assert (keys(asked), asked.replies[0].params, asked.effects) == (["place.confirm"], {"place": place}, [])
    changed = then(asked, "YES", request=OFFERED)
    assert changed.effects == [Effect("change_place", {"place": place})]
    assert keys(changed) == ["place.changed"] and "pending" not in changed.data


@pytest.mark.parametrize(
    "text", ["im ok", "how long?", "at home soon?", "im scared", "i am in pain", "ok thanks"]
)
def test_chatter_is_not_a_new_place(text):
    assert "place.confirm" not in keys(send("request_open", text, request=WAITING))


def test_a_new_place_then_no_keeps_the_old_one():
    asked = send("request_open", "im at the walgreens now", request=WAITING)
    kept = then(asked, "no", request=WAITING)
    assert (keys(kept), kept.effects) == (["place.kept"], [])


def test_emergency_words_come_before_a_new_place():
    step = send("request_open", "im at the walgreens and hes not breathing", request=WAITING)
    assert keys(step)[0] == "emergency"


def test_after_an_officer_accepts_a_place_is_relayed_not_confirmed():
    step = send("request_open", "im at the walgreens now", request=ACCEPTED)
    assert kinds(step) == ["relay"]


@pytest.mark.parametrize("text", ["i changed my mind", "nevermind", "never mind", "ya no", "ya no quiero"])
def test_a_change_of_mind_asks_whether_to_cancel(text):
    asked = send("request_open", text, request=WAITING)
    assert (keys(asked), asked.effects) == (["cancel.confirm"], [])
    assert kinds(then(asked, "yes", request=WAITING)) == ["cancel_request"]
    kept = then(asked, "no", request=WAITING)
    assert (kept.state, keys(kept), kept.effects) == ("request_open", ["cancel.kept"], [])


def test_read_new_place_needs_a_cue():
    assert read_new_place("the walgreens") is None
    assert read_new_place("im at") is None


# ---- call-backs ---------------------------------------------------------------------------


def test_a_callback_asks_whether_and_when_it_is_safe_to_call():
    asked = send("welcome", "3")
    assert keys(asked) == ["callback.ask"]
    assert then(asked, "").effects == [] and keys(then(asked, "")) == ["callback.ask"]
    refused = then(asked, "no")
    assert (keys(refused), refused.effects) == (["callback.not_safe"], [])
    anytime = then(asked, "yes")
    assert anytime.effects == [Effect("request_callback", {"when": ""})]


@pytest.mark.parametrize(("text", "state", "key"), [("2", "ask_safe", "ask_safe"), ("1", "info", "info")])
def test_a_menu_number_at_the_callback_question_is_a_new_choice(text, state, key):
    moved = then(send("welcome", "3"), text)
    assert (moved.state, keys(moved), moved.effects) == (state, [key], [])
    assert "pending" not in moved.data
    again = then(send("welcome", "3"), "3")
    assert (keys(again), again.effects) == (["callback.ask"], [])


@pytest.mark.parametrize("status", ["waiting", "offered", "accepted", "arriving", "no_officer"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_a_callback_status_never_calls_it_a_ride(status, language, catalog):
    step = send("request_open", "STATUS", request={"ref": "R7K2", "status": status, "kind": "callback"})
    text = catalog.render(keys(step)[0], language, step.replies[0].params).lower()
    assert "R7K2".lower() in text
    assert not any(word in text for word in ("ride", "on the way", "viaje", "transporte", "en camino"))


# ---- nobody on duty ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_nobody_on_duty_is_said_first_then_what_to_do(language, catalog, facts):
    step = send("confirm", "yes", nobody_on_duty=True, language=language)
    assert (kinds(step), keys(step)) == (["request_ride"], ["request.sent.nobody"])
    text = catalog.render("request.sent.nobody", language)
    assert text.startswith("No officer is on duty" if language == "en" else "Ahora no hay oficiales de turno")
    assert facts["hq_address"] in text and facts["desk_phone"] in text and "24/7" in text
    assert "asking the officers" not in text
