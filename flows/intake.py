"""The intake conversation: welcome, program answers, ride screening, confirm, open request.

Unclear input is re-asked with the state's own re-ask text twice; from the third unclear
answer in a row the flow offers the desk number instead, and stays in the same state, so the
person can still answer or reply MENU. Any understood message resets the count.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from .danger import is_crisis
from .flow import Flow
from .intents import (
    NO,
    YES,
    clean_place,
    clean_text,
    is_bare_answer,
    is_blank,
    normalise,
    read_adult,
    read_answer,
    read_choice,
    read_folded_command,
    read_place,
    strip_polite,
)
from .language import detect_language, hints, switched_language
from .plans import CRISIS_CHOICES, is_about_self, is_changed_mind, is_plain_yes, read_new_place
from .questions import (
    QUESTION_OPENINGS,
    is_greeting,
    looks_like_place,
    read_question,
    reads_as_question,
    wants_ride,
    without_question,
)
from .turn import Effect, Event, Reply, Step

SCREENING = [
    "ask_safe",
    "ask_adult",
    "ask_handover",
    "ask_weapons",
    "ask_warrant",
    "ask_place",
    "ask_consent",
    "confirm",
]
STATES = ["welcome", "info", *SCREENING, "request_open"]
ANY = STATES  # a list, not "*": wildcards misbehave on a shared multi-model machine (#331)
MENUS = ["welcome", "info"]

PROMPTS = {
    "welcome": "welcome",
    "info": "info",
    "ask_safe": "ask_safe",
    "ask_adult": "ask_adult",
    "ask_handover": "ask_handover",
    "ask_weapons": "ask_weapons",
    "ask_warrant": "ask_warrant",
    "ask_place": "ask_place",
    "ask_consent": "ask_consent",
    "confirm": "confirm.place",  # "confirm.hq" when meeting at headquarters
}
REASKS = {state: f"{key.split('.')[0]}.reask" for state, key in PROMPTS.items()}
MAX_REASKS = 2

TRANSITIONS = [
    # Global words: every state, before the state's own answers.
    {"trigger": "emergency", "source": ANY, "dest": None, "after": "mark_emergency"},
    {"trigger": "crisis", "source": ANY, "dest": None, "after": "mark_crisis"},
    {"trigger": "help", "source": ANY, "dest": None, "after": "mark_help"},
    {"trigger": "privacy", "source": ANY, "dest": None, "after": "mark_privacy"},
    {"trigger": "opt_in", "source": ANY, "dest": None, "after": "mark_opt_in"},
    {"trigger": "status", "source": ANY, "dest": None, "after": "mark_status"},
    {"trigger": "spanish", "source": ANY, "dest": None, "after": ["save_spanish", "mark_prompt"]},
    {"trigger": "english", "source": ANY, "dest": None, "after": ["save_english", "mark_prompt"]},
    # An open dispatch survives STOP (RELIABILITY MSG-1): only messaging ends.
    {
        "trigger": "opt_out",
        "source": ANY,
        "dest": "request_open",
        "conditions": "has_open_request",
        "after": "mark_opt_out",
    },
    {"trigger": "opt_out", "source": ANY, "dest": "welcome", "after": "mark_opt_out"},
    {"trigger": "menu", "source": ANY, "dest": "welcome", "after": "mark_prompt"},
    {
        "trigger": "delete",
        "source": ANY,
        "dest": None,
        "conditions": ["has_open_request", "is_sms"],
        "after": "mark_delete_confirm",
    },
    {"trigger": "delete", "source": ANY, "dest": "welcome", "after": "mark_deleted"},
    {
        "trigger": "cancel_ride",
        "source": ANY,
        "dest": "welcome",
        "conditions": "has_open_request",
        "after": "mark_cancelled",
    },
    {"trigger": "cancel_ride", "source": SCREENING, "dest": "welcome", "after": "mark_dropped"},
    {"trigger": "cancel_ride", "source": ANY, "dest": None, "after": "mark_no_request"},
    # New, idle (default 24 h) or unrestorable conversations start over.
    {
        "trigger": "restart",
        "source": ANY,
        "dest": "request_open",
        "conditions": "has_open_request",
        "after": "mark_welcome_back",
    },
    {"trigger": "restart", "source": ANY, "dest": "welcome", "after": "mark_prompt"},
    {"trigger": "reset", "source": ANY, "dest": "welcome", "after": ["mark_sorry", "mark_prompt"]},
    # Asks for a ride, questions in the person's own words and hellos, before each state's answers:
    # a question gets its answer, then the question they were at (screening answers are kept).
    {"trigger": "ride_request", "source": ANY, "dest": "ask_safe", "after": "mark_prompt"},
    {"trigger": "question", "source": ANY, "dest": None, "after": ["mark_answer", "mark_prompt"]},
    {
        "trigger": "receive",
        "source": MENUS,
        "dest": "request_open",
        "conditions": ["is_ride_request", "has_open_request"],
        "after": "mark_status",
    },
    {
        "trigger": "receive",
        "source": MENUS,
        "dest": "ask_safe",
        "conditions": "is_ride_request",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": MENUS,
        "dest": "info",
        "conditions": "has_question",
        "after": ["mark_answer", "mark_more"],
    },
    {
        "trigger": "receive",
        "source": ANY,
        "dest": None,
        "conditions": "has_question",
        "after": ["mark_answer", "mark_prompt"],
    },
    {
        "trigger": "receive",
        "source": MENUS,
        "dest": "welcome",
        "conditions": "is_greeting",
        "after": "mark_prompt",
    },
    # welcome
    {
        "trigger": "receive",
        "source": "welcome",
        "dest": "info",
        "conditions": "is_info_choice",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "welcome",
        "dest": "request_open",
        "conditions": ["is_ride_choice", "has_open_request"],
        "after": "mark_status",
    },
    {
        "trigger": "receive",
        "source": "welcome",
        "dest": "ask_safe",
        "conditions": "is_ride_choice",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "welcome",
        "dest": None,
        "conditions": "is_officer_choice",
        "after": "mark_callback",
    },
    # info
    {
        "trigger": "receive",
        "source": "info",
        "dest": "welcome",
        "conditions": "is_back_choice",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "info",
        "dest": None,
        "conditions": "has_topic",
        "after": "mark_topic",
    },
    # ride screening, one question per message
    {
        "trigger": "receive",
        "source": "ask_safe",
        "dest": "ask_adult",
        "conditions": "is_yes",
        "before": "save_answer",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_safe",
        "dest": "welcome",
        "conditions": "is_no",
        "after": "mark_unsafe",
    },
    {
        "trigger": "receive",
        "source": "ask_adult",
        "dest": "ask_handover",
        "conditions": "is_adult",
        "before": "save_answer",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_adult",
        "dest": "welcome",
        "conditions": "is_minor",
        "after": "mark_under_age",
    },
    {
        "trigger": "receive",
        "source": "ask_handover",
        "dest": "ask_weapons",
        "conditions": "is_yes_or_no",
        "before": "save_answer",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_weapons",
        "dest": "ask_warrant",
        "conditions": "is_yes",
        "before": ["save_answer", "mark_weapons"],
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_weapons",
        "dest": "ask_warrant",
        "conditions": "is_no",
        "before": "save_answer",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_warrant",
        "dest": "ask_place",
        "conditions": "has_answer",
        "before": ["save_answer", "mark_warrants"],
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_place",
        "dest": "ask_consent",
        "conditions": "has_place",
        "before": "save_place",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "ask_consent",
        "dest": "confirm",
        "conditions": "is_yes_or_no",
        "before": "save_answer",
        "after": "mark_prompt",
    },
    # confirm: a stale or tampered summary starts the questions again rather than dispatch.
    {
        "trigger": "receive",
        "source": "confirm",
        "dest": "ask_safe",
        "unless": "has_all_answers",
        "after": "mark_prompt",
    },
    {
        "trigger": "receive",
        "source": "confirm",
        "dest": "request_open",
        "conditions": ["is_yes", "has_open_request"],
        "after": "mark_status",
    },
    {
        "trigger": "receive",
        "source": "confirm",
        "dest": "request_open",
        "conditions": "is_yes",
        "after": "mark_sent",
    },
    {
        "trigger": "receive",
        "source": "confirm",
        "dest": "welcome",
        "conditions": "is_no",
        "after": "mark_dropped",
    },
    # request_open: with an officer on the case (and consent), texts go to the officer;
    # anything else gets the truthful status; a closed request ends it.
    {
        "trigger": "receive",
        "source": "request_open",
        "dest": None,
        "conditions": ["is_sms", "is_unaccepted", "has_new_place"],
        "after": "mark_place_confirm",
    },
    {
        "trigger": "receive",
        "source": "request_open",
        "dest": None,
        "conditions": ["is_sms", "has_open_request", "is_changed_mind"],
        "after": "mark_cancel_confirm",
    },
    {
        "trigger": "receive",
        "source": "request_open",
        "dest": None,
        "conditions": ["has_open_request", "has_relay"],
        "after": "mark_relay",
    },
    {
        "trigger": "receive",
        "source": "request_open",
        "dest": None,
        "conditions": "has_open_request",
        "after": "mark_status",
    },
    {"trigger": "receive", "source": "request_open", "dest": "welcome", "after": "mark_status"},
    # Nothing above understood the message.
    {"trigger": "receive", "source": ANY, "dest": None, "after": "mark_unclear"},
]

# Paused moments (SMS): after crisis words, DELETE with a request open, a new place, a change of
# mind or a call-back request, data "pending" names what the next message answers; it is never
# taken as the answer to the question that was pending before (the answers so far are kept).
PENDING = ("crisis", "delete", "place", "cancel", "callback")
ENDS_PENDING = {"menu", "delete", "cancel_ride", "opt_out", "restart", "reset"}
TRANSITIONS += [
    {
        "trigger": "answer_crisis",
        "source": ANY,
        "dest": None,
        "conditions": "is_crisis_go_on",
        "after": "mark_crisis_go_on",
    },
    {
        "trigger": "answer_crisis",
        "source": ANY,
        "dest": None,
        "conditions": "is_crisis_talk",
        "after": "mark_crisis_talk",
    },
    {
        "trigger": "answer_crisis",
        "source": ANY,
        "dest": None,
        "conditions": "is_crisis_unsafe",
        "after": "mark_crisis_unsafe",
    },
    {
        "trigger": "answer_crisis",
        "source": ANY,
        "dest": None,
        "conditions": ["is_crisis_stop", "has_open_request"],
        "after": "mark_crisis_stopped",
    },
    {
        "trigger": "answer_crisis",
        "source": ANY,
        "dest": "welcome",
        "conditions": "is_crisis_stop",
        "after": "mark_crisis_stopped",
    },
    {"trigger": "answer_crisis", "source": ANY, "dest": None, "after": "mark_crisis_reask"},
    {
        "trigger": "answer_delete",
        "source": ANY,
        "dest": "welcome",
        "conditions": "is_plain_yes",
        "after": "mark_deleted",
    },
    {"trigger": "answer_delete", "source": ANY, "dest": None, "after": "mark_delete_kept"},
    {
        "trigger": "answer_place",
        "source": ANY,
        "dest": None,
        "conditions": ["is_yes", "has_open_request"],
        "after": "mark_place_changed",
    },
    {"trigger": "answer_place", "source": ANY, "dest": None, "after": "mark_place_kept"},
    {
        "trigger": "answer_cancel",
        "source": ANY,
        "dest": "welcome",
        "conditions": ["is_yes", "has_open_request"],
        "after": "mark_cancelled",
    },
    {"trigger": "answer_cancel", "source": ANY, "dest": None, "after": "mark_cancel_kept"},
    {
        "trigger": "answer_callback",
        "source": ANY,
        "dest": None,
        "conditions": "is_blank",
        "after": "mark_callback_reask",
    },
    # A menu number is a new choice, not a time to call ("3" again: ask when, again).
    {
        "trigger": "answer_callback",
        "source": "welcome",
        "dest": "info",
        "conditions": "is_info_choice",
        "after": ["save_no_pending", "mark_prompt"],
    },
    {
        "trigger": "answer_callback",
        "source": "welcome",
        "dest": "ask_safe",
        "conditions": "is_ride_choice",
        "unless": "has_open_request",
        "after": ["save_no_pending", "mark_prompt"],
    },
    {
        "trigger": "answer_callback",
        "source": ANY,
        "dest": None,
        "conditions": "is_officer_choice",
        "after": "mark_callback_reask",
    },
    {
        "trigger": "answer_callback",
        "source": ANY,
        "dest": None,
        "conditions": "is_no",
        "after": "mark_callback_not_safe",
    },
    {"trigger": "answer_callback", "source": ANY, "dest": None, "after": "mark_callback_sent"},
]

WELCOME_CHOICES = {
    "info": ("1", "how it works", "how does it work", "amnesty", "amnistia", "como funciona"),
    "ride": ("2", "ride", "viaje", "transporte", "raite", "aventon", "pick me up", "recogerme"),
    "officer": ("3", "officer", "talk", "call me", "oficial", "hablar", "llamame", "llamenme"),
}
INFO_CHOICES = {
    "what_happens": ("1", "what happens", "que pasa"),
    "bring": ("2", "bring", "traer", "llevar"),
    "warrants": ("3", "warrant", "warrants", "orden", "ordenes", "arresto"),
    "cost": ("4", "cost", "price", "pay", "insurance", "free", "costo", "pagar", "gratis"),
    "residency": ("5", "resident", "residency", "live", "residente", "residencia", "vivo"),
    "privacy": ("6", "privacy", "private", "data", "privacidad", "privado", "datos"),
    "pickup": ("7", "pickup", "pick up", "who comes", "what car", "quien le recoge", "recoge", "auto"),
    "treatment": ("8", "at treatment", "how long", "my phone", "pets", "en el tratamiento", "mascotas"),
    "waiting": ("9", "while you wait", "waiting", "naloxone", "narcan", "mientras espera", "naloxona"),
    "family": ("f", "family", "friend", "friends", "familia", "familiar", "amigo", "amiga", "amistades"),
    "back": ("0", "back", "volver", "atras", "regresar", "inicio"),
}
# Topics that take two texts: what is kept, then what DELETE erases and what remains.
FOLLOW_UP = {"privacy": "info.privacy.delete"}
ANSWERS = {  # which screening state saves which answer
    "ask_safe": "safe",
    "ask_adult": "adult",
    "ask_handover": "handover",
    "ask_weapons": "weapons",
    "ask_warrant": "warrant",
    "ask_consent": "consent",
}
RIDE_ANSWERS = ("safe", "adult", "handover", "weapons", "warrant", "meet", "place", "consent")
OPEN = ("waiting", "offered", "accepted", "arriving", "no_officer")
RELAYED = ("accepted", "arriving")  # an officer is on the case: texts can pass between them
# "offered" means an officer is being asked: to the participant, still "waiting" (none accepted).
SAID_AS = {"offered": "waiting"}
CLOSED = ("completed", "cancelled")
LANGUAGES = ("en", "es")
ANSWERED_TOPICS = ("arrest",)  # answered beside the info menu's own topics (INFO_CHOICES)
ANSWERABLE = frozenset(INFO_CHOICES) - {"back"} | frozenset(ANSWERED_TOPICS)
UNREAD = object()  # a turn's question topic, not read yet
STAY_IN_LANGUAGE = ("ask_place",)  # place names are often Spanish words: never a reason to switch
SILENT_WHEN_OPTED_OUT = {"emergency", "crisis", "help", "opt_in"}  # the only ones that answer
UNACCEPTED = ("waiting", "offered", "no_officer")  # the place can still change before anyone goes
OFFICER_TOLD = ("offered", "accepted", "arriving")  # an officer holds the request or its offer


class Intake:
    """Carry one message through the intake machine and collect what to say and do."""

    state: str  # set by the machine

    def __init__(self, event: Event, data: Mapping[str, Any]) -> None:
        data = data if isinstance(data, Mapping) else {}
        context = event.context if isinstance(event.context, Mapping) else {}
        request = context.get("request")
        self.event = event
        self.opted_out = bool(context.get("opted_out"))
        self.nobody_on_duty = bool(context.get("nobody_on_duty"))  # no officer to ask right now
        self.idle = bool(context.get("idle"))
        limit = context.get("reask_limit")
        self.reask_limit = limit if isinstance(limit, int) and limit >= 0 else MAX_REASKS
        self.request = request if isinstance(request, Mapping) else None
        self.language = data.get("language") if data.get("language") in LANGUAGES else "en"
        answers = data.get("answers")
        self.answers = dict(answers) if isinstance(answers, Mapping) else {}
        reasks = data.get("reasks")
        self.reasks = reasks if isinstance(reasks, int) and reasks >= 0 else 0
        pending = data.get("pending")
        self.pending = pending if pending in PENDING else None
        new_place = data.get("new_place")
        self.new_place = clean_place(new_place) if isinstance(new_place, str) else ""
        self.raw = event.text if isinstance(event.text, str) else ""
        self.text = normalise(self.raw)
        self.blank = not self.text and is_blank(self.raw)
        self.unclear = False
        self._topic: str | None | object = UNREAD
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    def plan(self, state: str | None, states: Sequence[str], initial: str) -> tuple[str, str | None]:
        """Return the state to start from and the trigger to fire (None: stay silent)."""
        # self.text is already the raw text normalised: folding it again would only cost time.
        command, language = read_folded_command(self.text, self.event.channel)
        known = state in states
        if self.opted_out:
            if command is None and self.text == "yes":
                command = "opt_in"  # Twilio re-subscribes on YES too (RELIABILITY MSG-2)
            if command not in SILENT_WHEN_OPTED_OUT:
                return (state if known else initial), None
        if language:
            self.language = language
        elif state is None:
            self.language = self.first_language(command) or self.language
        elif self.may_switch_language(state):
            self.language = switched_language(self.text, self.language) or self.language
        if known and not self.idle:
            if command is None and self.pending:
                return state, f"answer_{self.pending}"
            if command in ENDS_PENDING:
                self.pending = None
            return state, command or "receive"
        self.answers, self.reasks, self.pending = {}, 0, None
        if command:
            return initial, command
        if state is not None and not known:
            return initial, "reset"
        if not self.has_open_request():
            if wants_ride(self.text):
                return initial, "ride_request"
            if self.topic() is not None:
                return initial, "question"
        return initial, "restart"

    def may_switch_language(self, state: str) -> bool:
        """Tell whether this message may change the language mid-conversation.

        Never on a call (the caller chose it; keys reach the flow as English words), on a bare
        yes, no or not sure ("not sure" in a Spanish conversation), or where the place is asked
        unless the message is a question ("¿tengo que vivir en Lee's Summit?"), not a place.
        """
        if self.event.channel != "sms" or is_bare_answer(self.text):
            return False
        return state not in STAY_IN_LANGUAGE or reads_as_question(self.raw, self.text)

    def first_language(self, command: str | None) -> str | None:
        """Return the language a first message is written in, when it tells."""
        if command is None:
            return detect_language(self.text)
        spanish, english = hints(self.text)  # "suicidal" alone: too short for the detector
        return "es" if spanish > english else None

    def topic(self) -> str | None:
        """Return the program question the person asks, among those with an answer."""
        if self._topic is UNREAD:  # several guards ask in one turn: read the text once
            self._topic = read_question(self.text, ANSWERABLE)
        return self._topic

    def step(self, state: str) -> Step:
        """Return what the turn decided, ending in `state`."""
        # Answers live only while screening: nothing personal lingers after it.
        answers = self.answers if state in SCREENING else {}
        data = {
            "language": self.language,
            "answers": answers,
            "reasks": self.reasks if self.unclear else 0,
        }
        if self.pending:
            data["pending"] = self.pending
            if self.pending == "place":
                data["new_place"] = self.new_place
        return Step(state, data, self.language, self.replies, self.effects)

    # guards

    def is_yes(self) -> bool:
        """Tell whether the person said yes."""
        return read_answer(self.text) == "yes"

    def is_no(self) -> bool:
        """Tell whether the person said no."""
        return read_answer(self.text) == "no"

    def is_yes_or_no(self) -> bool:
        """Tell whether the person said yes or no."""
        return read_answer(self.text) in ("yes", "no")

    def has_answer(self) -> bool:
        """Tell whether the person said yes, no or not sure."""
        return read_answer(self.text) is not None

    def is_adult(self) -> bool:
        """Tell whether the person said they are 18 or older."""
        return read_adult(self.text) == "yes"

    def is_minor(self) -> bool:
        """Tell whether the person said they are under 18."""
        return read_adult(self.text) == "no"

    def has_place(self) -> bool:
        """Tell whether the person named a place to meet or chose headquarters."""
        return read_place(self.raw) is not None

    def has_question(self) -> bool:
        """Tell whether the person asked a program question rather than answer this state."""
        topic = self.topic()
        if topic is None:
            return False
        if self.state == "ask_place":  # "I have a warrant" names no place; "the jail on 3rd" does
            return reads_as_question(self.raw, self.text) or not looks_like_place(self.text)
        if self.state == "request_open":
            return not self.has_relay()
        if self.state in MENUS:  # a menu number, a ride or the officer choice wins over the words
            numbered = any(word.isdigit() for word in self.text.split())
            if self.state == "info":
                return not numbered and read_choice(self.text, INFO_CHOICES) != "back"
            choice = read_choice(self.text, WELCOME_CHOICES)
            asked = choice in (None, "info") or choice != "ride" and reads_as_question(self.raw, self.text)
            return not numbered and asked  # "will the officer be in uniform?" asks, "officer" chooses
        if self.state == "ask_warrant" and topic == "warrants":
            return read_answer(self.text) is None  # "I have a warrant" answers this question
        # "yes, is it free?" answers first; "i have medicaid is that ok" asks.
        rest = without_question(self.text, topic)
        said = read_adult(rest) if self.state == "ask_adult" else read_answer(rest, phrases=False)
        lead = self.text.split()[0]
        opens = self.text.startswith(QUESTION_OPENINGS)
        return said is None or opens or not (lead in YES or lead in NO or lead.isdigit())

    def is_ride_request(self) -> bool:
        """Tell whether the person asked for a ride in their own words."""
        return wants_ride(self.text)

    def is_greeting(self) -> bool:
        """Tell whether the person said hello or asked for help."""
        return is_greeting(self.text) or is_greeting(strip_polite(self.text))

    def is_info_choice(self) -> bool:
        """Tell whether the person chose how the program works."""
        return read_choice(self.text, WELCOME_CHOICES) == "info"

    def is_ride_choice(self) -> bool:
        """Tell whether the person chose a ride to treatment."""
        return read_choice(self.text, WELCOME_CHOICES) == "ride"

    def is_officer_choice(self) -> bool:
        """Tell whether the person chose to talk to an officer."""
        return read_choice(self.text, WELCOME_CHOICES) == "officer"

    def is_back_choice(self) -> bool:
        """Tell whether the person asked to go back to the main menu."""
        return read_choice(self.text, INFO_CHOICES) == "back"

    def has_topic(self) -> bool:
        """Tell whether the person picked one of the program answers."""
        return read_choice(self.text, INFO_CHOICES) not in (None, "back")

    def has_open_request(self) -> bool:
        """Tell whether this person has a request still open."""
        return self.request is not None and self.request.get("status") in OPEN

    def has_relay(self) -> bool:
        """Tell whether this text may go to the officer on the request.

        Only by SMS, with words in it, while an officer has accepted, and unless the service
        says relaying is not allowed (context request "relay": False: no consent, opted out).
        """
        return (
            self.event.channel == "sms"
            and bool(self.text)
            and self.request is not None
            and self.request.get("status") in RELAYED
            and self.request.get("relay", True) is not False
        )

    def is_plain_yes(self) -> bool:
        """Tell whether the person plainly said YES (what erasing everything needs)."""
        return is_plain_yes(self.text)

    def is_sms(self) -> bool:
        """Tell whether the message came by text (calls keep their own, spoken paths)."""
        return self.event.channel == "sms"

    def is_blank(self) -> bool:
        """Tell whether the message had no words in it."""
        return not self.text

    def is_unaccepted(self) -> bool:
        """Tell whether the open request has no officer on it yet (its place can still change)."""
        return self.request is not None and self.request.get("status") in UNACCEPTED

    def has_new_place(self) -> bool:
        """Tell whether the text gives a new place to meet ("actually im at the walgreens")."""
        return read_new_place(self.raw) is not None

    def is_changed_mind(self) -> bool:
        """Tell whether the person no longer wants the request ("changed my mind", "ya no")."""
        return is_changed_mind(self.text)

    def is_crisis_go_on(self) -> bool:
        """Tell whether the person chose to go on where they left off."""
        return read_choice(self.text, CRISIS_CHOICES) == "go_on"

    def is_crisis_talk(self) -> bool:
        """Tell whether the person chose to talk to someone now."""
        return read_choice(self.text, CRISIS_CHOICES) == "talk"

    def is_crisis_unsafe(self) -> bool:
        """Tell whether the person answered that they are not safe right now."""
        return read_choice(self.text, CRISIS_CHOICES) == "unsafe" or read_answer(self.text) == "no"

    def is_crisis_stop(self) -> bool:
        """Tell whether the person chose to stop for now."""
        return read_choice(self.text, CRISIS_CHOICES) == "stop"

    def has_all_answers(self) -> bool:
        """Tell whether every screening answer is there to send."""
        return all(name in self.answers for name in RIDE_ANSWERS)

    # actions: save_* change data, mark_* say or do something

    def save_answer(self) -> None:
        """Keep the answer to the current question."""
        said = read_adult(self.text) if self.state == "ask_adult" else read_answer(self.text)
        self.answers[ANSWERS[self.state]] = said

    def save_place(self) -> None:
        """Keep where to meet: headquarters or the person's own words, trimmed."""
        meet, place = read_place(self.raw) or ("hq", None)
        self.answers["meet"] = meet
        self.answers["place"] = place

    def save_spanish(self) -> None:
        """Speak Spanish from now on."""
        self.language = "es"

    def save_english(self) -> None:
        """Speak English from now on."""
        self.language = "en"

    def say(self, key: str, **params: str) -> None:
        """Queue a reply."""
        self.replies.append(Reply(key, params))

    def do(self, kind: str, **params: Any) -> None:
        """Queue an effect for the service."""
        self.effects.append(Effect(kind, params))

    def mark_prompt(self) -> None:
        """Ask the current state's question again, or give the open request's status."""
        if self.state == "request_open":
            self.mark_status()
        elif self.state == "confirm":
            meet = "confirm.hq" if self.answers.get("meet") == "hq" else PROMPTS["confirm"]
            self.say(meet, **self.summary())
        else:
            self.say(PROMPTS[self.state])

    def summary(self) -> dict[str, str]:
        """Return the answers the confirm text shows."""
        names = ("place", "handover", "weapons", "warrant", "consent")
        return {name: str(self.answers.get(name) or "") for name in names}

    def mark_unclear(self) -> None:
        """Re-ask the question, then offer the desk once the re-asks (context reask_limit) are used."""
        self.unclear = True
        self.reasks += 1
        if self.reasks > self.reask_limit:
            self.say("reask.desk")
        elif self.blank:
            self.say("reask.empty")
        else:
            self.say(REASKS.get(self.state, "welcome.reask"))

    def mark_status(self) -> None:
        """Tell the truth about this person's request."""
        if self.request is None:
            self.say("status.none")
            return
        status = self.request.get("status")
        ref = str(self.request.get("ref") or "")[:12]
        known = status in OPEN or status in CLOSED
        if self.request.get("kind") == "callback" and status in OPEN:  # a call-back is never a ride
            self.say("status.callback.accepted" if status in RELAYED else "status.callback.waiting", ref=ref)
            return
        self.say(f"status.{SAID_AS.get(status, status)}" if known else "status.unknown", ref=ref)

    def mark_relay(self) -> None:
        """Pass the text to the officer on the request and say so."""
        self.do("relay", text=clean_text(self.raw))
        self.say("relay.sent", ref=str((self.request or {}).get("ref") or "")[:12])

    def mark_welcome_back(self) -> None:
        """Greet a returning person and give the open request's status."""
        self.say("welcome_back")
        self.mark_status()

    def mark_answer(self) -> None:
        """Answer the program question the person asked in their own words."""
        self.say(f"info.{self.topic()}")

    def mark_more(self) -> None:
        """Say how to get another answer."""
        self.say("info.more")

    def mark_topic(self) -> None:
        """Answer one program question and say how to go on."""
        topic = read_choice(self.text, INFO_CHOICES)
        self.say(f"info.{topic}")
        if topic in FOLLOW_UP:
            self.say(FOLLOW_UP[topic])
        self.say("info.more")

    def mark_callback(self) -> None:
        """Ask the duty sergeant to call back (by text: first ask whether and when it is safe)."""
        if self.is_sms():
            self.pending = "callback"
            self.say("callback.ask")
            return
        self.do("request_callback")
        self.say("callback.requested")

    def mark_unsafe(self) -> None:
        """Send emergency guidance and alert the sergeant: the person is not safe."""
        self.do("alert_sergeant", reason="unsafe")
        self.say("unsafe")

    def mark_under_age(self) -> None:
        """Point someone under 18 to other help; no dispatch."""
        self.say("under_age")

    def mark_weapons(self) -> None:
        """Give the weapons safety instruction."""
        self.say("weapons.safety")

    def mark_warrants(self) -> None:
        """Give the honest warrant text; after a yes or not sure, say the officer will be told."""
        worried = self.answers.get("warrant") in ("yes", "not_sure")
        self.say("warrant.told" if worried else "info.warrants")

    def mark_sent(self) -> None:
        """Send the ride request."""
        self.do("request_ride", answers={name: self.answers.get(name) for name in RIDE_ANSWERS})
        self.say("request.sent.nobody" if self.nobody_on_duty else "request.sent")

    def mark_dropped(self) -> None:
        """Say nothing was sent and offer the choices again."""
        self.say("confirm.dropped")

    def mark_cancelled(self) -> None:
        """Cancel the open request."""
        self.pending = None
        self.do("cancel_request")
        self.say("cancel.done", ref=str((self.request or {}).get("ref") or "")[:12])

    def mark_no_request(self) -> None:
        """Say there is no open request to cancel."""
        self.say("cancel.none")

    def mark_emergency(self) -> None:
        """Give 911 guidance (for the person alone, or for someone with them) and alert the sergeant."""
        self.do("alert_sergeant", reason="emergency")
        both = is_crisis(self.text)  # "took too many pills, i want to die": 988 as well as 911
        if not self.is_sms():
            self.say("emergency")
            if both:
                self.say("crisis.after_emergency")
            return
        self.say("emergency.self" if is_about_self(self.text) else "emergency")
        if both:
            self.say("crisis.after_emergency")
        self.say(self.told("emergency"), ref=self.ref())

    def mark_crisis(self) -> None:
        """Give 988 then 911, alert the sergeant, and pause to check in (by text)."""
        self.do("alert_sergeant", reason="suicide")
        self.say("crisis")
        if self.is_sms():
            self.pending = "crisis"
            self.say(self.told("crisis"), ref=self.ref())

    def told(self, about: str) -> str:
        """Return the key that says truthfully who was told: the sergeant, and an officer if one is."""
        if not self.has_open_request():
            return f"{about}.told"
        officer = (self.request or {}).get("status") in OFFICER_TOLD
        return f"{about}.told.officer" if officer else f"{about}.told.ride"

    def ref(self) -> str:
        """Return the open request's reference, or ""."""
        return str((self.request or {}).get("ref") or "")[:12]

    def mark_crisis_go_on(self) -> None:
        """Go on where the person left off: the same question again."""
        self.pending = None
        self.mark_prompt()

    def mark_crisis_talk(self) -> None:
        """Give 988 (and 911 in danger) again; stay paused until they choose to go on."""
        self.say("crisis.talk")

    def mark_crisis_unsafe(self) -> None:
        """Not safe now: 911 first, then 988; the sergeant is told; stay paused."""
        self.do("alert_sergeant", reason="unsafe")
        self.say("crisis.unsafe")

    def mark_crisis_stopped(self) -> None:
        """Stop for now; an open request stays open and the person is told how to cancel it."""
        self.pending = None
        self.answers = {}
        if self.has_open_request():
            self.say("crisis.stopped.ride", ref=self.ref())
        else:
            self.say("crisis.stopped")

    def mark_crisis_reask(self) -> None:
        """Ask the check-in again."""
        self.say("crisis.reask")

    def mark_delete_confirm(self) -> None:
        """DELETE with a request open: say it cancels the request, and ask to confirm."""
        self.pending = "delete"
        self.say("delete.confirm", ref=self.ref())

    def mark_delete_kept(self) -> None:
        """Anything but YES: nothing erased, the request stays open."""
        self.pending = None
        self.say("delete.kept", ref=self.ref())

    def mark_place_confirm(self) -> None:
        """A new place before an officer accepts: ask to confirm it."""
        self.pending = "place"
        self.new_place = read_new_place(self.raw) or ""
        self.say("place.confirm", place=self.new_place)

    def mark_place_changed(self) -> None:
        """Change the request's place; the officer holding the offer is told."""
        self.do("change_place", place=self.new_place)
        self.pending, self.new_place = None, ""
        self.say("place.changed", ref=self.ref())

    def mark_place_kept(self) -> None:
        """Anything but YES: the place stays as it was."""
        self.pending, self.new_place = None, ""
        self.say("place.kept", ref=self.ref())

    def mark_cancel_confirm(self) -> None:
        """A change of mind: ask whether to cancel."""
        self.pending = "cancel"
        self.say("cancel.confirm", ref=self.ref())

    def mark_cancel_kept(self) -> None:
        """Anything but YES: the request stays open."""
        self.pending = None
        self.say("cancel.kept", ref=self.ref())

    def save_no_pending(self) -> None:
        """Leave the paused moment: the message was a new choice."""
        self.pending = None

    def mark_callback_reask(self) -> None:
        """Ask again whether and when it is safe to call."""
        self.say("callback.ask")

    def mark_callback_not_safe(self) -> None:
        """Not safe to call: no call-back; say how to reach us instead."""
        self.pending = None
        self.say("callback.not_safe")

    def mark_callback_sent(self) -> None:
        """Ask the duty sergeant to call back, when the person said it is safe."""
        self.pending = None
        when = "" if read_answer(self.text) == "yes" else clean_text(self.raw)[:80]
        self.do("request_callback", when=when)
        self.say("callback.requested")

    def mark_help(self) -> None:
        """Send the help text."""
        self.say("help")

    def mark_privacy(self) -> None:
        """Say what is stored, for how long, who sees it, and how to erase it."""
        self.say("info.privacy")
        self.say(FOLLOW_UP["privacy"])
        if self.state == "info":
            self.say("info.more")

    def mark_opt_in(self) -> None:
        """Re-subscribe the number."""
        self.do("opt_in")
        self.say("opted_in")

    def mark_opt_out(self) -> None:
        """Record the opt-out; Twilio itself answers STOP, so say nothing."""
        self.do("opt_out")

    def mark_deleted(self) -> None:
        """Erase what is stored about this number."""
        self.answers, self.pending = {}, None
        self.do("delete_data")
        self.say("deleted")

    def mark_sorry(self) -> None:
        """Apologise for losing the place in the conversation."""
        self.say("reset.sorry")


INTAKE = Flow("intake", STATES, TRANSITIONS, "welcome", Intake)
