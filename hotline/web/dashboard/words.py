"""Plain words for the dashboard: a request's timeline and the audit log as sentences, with names.

The database keeps codes and ids (`offer_expired`, `officer:4`, `outcome:out`); staff read
sentences ("The offer ran out: nobody answered in time", "Ofc. Chen"). Codes without a sentence
are shown as they are, so a new code is never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Each timeline step as a sentence; {who} is who did it, {detail} the officer an offer or assignment names.
TIMELINE = {
    "requested": "{who} asked for this {kind}.",
    "offered": "Offered to {detail} by text.",
    "declined": "{who} said no to the offer.",
    "offer_expired": "The offer ran out: nobody answered in time.",
    "offer_withdrawn": "{who} went off duty; the offer passed to the next officer.",
    "offer_undeliverable": "The offer could not be delivered to the officer's phone.",
    "no_officer": "Nobody accepted: every officer on duty was asked.",
    "accepted": "{who} accepted and is on the way.",
    "assigned": "{who} assigned it to {detail}.",
    "arrived": "{who} arrived at the meeting place.",
    "place_changed": "{who} gave a new meeting place.",
    "relay_in": "{who} sent a text to the officer.",
    "relay_out": "{who} sent a text to the participant.",
    "call": "{who} called the participant back through the hotline.",
    "call_ended": "The call-back ended after they spoke.",
    "call_unanswered": "The call-back was not answered.",
    "note": "{who} added a note.",
    "completed": "{who} closed it as completed.",
    "cancelled": "{who} cancelled it.",
    "alert_emergency": "{who} sent emergency words; they were told to call 911.",
    "alert_suicide": "{who} wrote about ending their life; they were given 988 and 911.",
    "alert_unsafe": "{who} said they are not safe right now; they were told to call 911.",
}

#: Why a roster entry cannot be put on duty from the dashboard: its sealed number no key opens.
UNREADABLE_NUMBER = (
    "This person's phone number cannot be read, so they cannot get offers. Reach them by radio and "
    "tell the admin (the hotline's encryption key may have changed)."
)

#: Each audit action as a sentence; {target} and {detail} are already in words.
AUDIT = {
    "login": "Signed in.",
    "login_wrong": "A sign-in failed: wrong username or password.",
    "login_locked": "A sign-in was refused: the account was locked.",  # older entries
    "login_inactive": "A sign-in was refused: the account is deactivated.",
    "logout": "Signed out.",
    "dispatch.view_place": "Looked at the meeting place of {target}.",
    "dispatch.assign": "Assigned {target} to {detail}.",
    "dispatch.call_back": "Called back {target}, ringing {detail}.",
    "dispatch.note": "Added a note to {target}.",
    "dispatch.completed": "Closed {target} as completed: {detail}.",
    "dispatch.cancelled": "Cancelled {target}.",
    "roster.add": "Added {target} to the roster.",
    "roster.edit": "Changed {target}: {detail}.",
    "roster.duty": "Put {target} {detail} duty.",
    "roster.shift": "Changed the regular shift of {target} ({detail}).",
    "roster.activate": "Made {target} active again.",
    "roster.deactivate": "Deactivated {target}.",
    "user.add": "Added the dashboard user {target}, {detail}.",
    "user.unlock": "Unlocked the dashboard user {target}.",  # older entries
    "user.deactivate": "Deactivated the dashboard user {target}.",
    "user.role": "Changed what the dashboard user {target} may do: {detail}.",
    "user.reset_password": "Set a new password for the dashboard user {target}.",
    "user.change_password": "{target} changed their own password.",
    "report.download": "Downloaded the {target} report as CSV.",
    # Staff commands by text (hotline.services.commands); the others read "Texted DONE for request R7K2."
    "sms.on": "Texted ON: on duty.",
    "sms.off": "Texted OFF: off duty.",
    "sms.stop": "Texted STOP: off duty, and no more texts reach their phone.",
    "sms.accept_wrong_code": "Texted ACCEPT with a wrong code.",
    "sms.decline_wrong_code": "Texted DECLINE with a wrong code.",
    "sms.codes_paused": "Sent too many wrong offer codes: their ACCEPT and DECLINE were paused for a while.",
    "sms.accept_paused": "Texted ACCEPT while paused for wrong codes; ignored.",
    "sms.decline_paused": "Texted DECLINE while paused for wrong codes; ignored.",
    "sms.unknown": "Texted something that is not a command.",
}

OUTCOMES = {"in": "inpatient", "out": "outpatient", "refused": "refused treatment"}


def who(actor: str, officers: Mapping[int, str]) -> str:
    """Name an actor: an officer by name, a dashboard user by username, the participant, the hotline."""
    kind, _, ident = actor.partition(":")
    if kind == "officer":
        return (
            officers.get(int(ident), "an officer no longer on the roster")
            if ident.isdigit()
            else "an officer"
        )
    if kind == "user":
        return ident or "a dashboard user"
    return {
        "participant": "The participant",
        "system": "The hotline",
        "cli": "The hotline command",
        "anonymous": "Someone not signed in",
    }.get(kind, actor)


def timeline_step(
    kind: str, actor: str, detail: str | None, *, request_kind: str, officers: Mapping[int, str]
) -> str:
    """Return one timeline step as a sentence."""
    template = TIMELINE.get(kind)
    if template is None:
        return f"{who(actor, officers)}: {kind.replace('_', ' ')}."
    return template.format(
        who=who(actor, officers),
        detail=detail or "an officer",
        kind="call-back" if request_kind == "callback" else "ride",
    )


def audit_sentence(action: str, target: str | None, detail: str | None, officers: Mapping[int, str]) -> str:
    """Return an audit entry as a sentence: codes turned into names and words."""
    target_words = _thing(target, officers)
    detail_words = _detail(action, detail, officers)
    template = AUDIT.get(action)
    if template is None and action.startswith("sms."):
        return _texted(action, target_words)
    if template is None:
        parts = [action.replace(".", ": ").replace("_", " ")]
        parts += [p for p in (target_words, detail_words) if p]
        return " ".join(parts).capitalize() + "."
    return template.format(target=target_words or "-", detail=detail_words or "-")


def _texted(action: str, target_words: str) -> str:
    """A staff command by text: "Texted DONE for request R7K2.", "Texted ROSTER (refused)."."""
    word, _, outcome = action.removeprefix("sms.").partition("_")
    sentence = f"Texted {word.upper()}" + (f" for {target_words}" if target_words else "")
    return sentence + (f" ({outcome.replace('_', ' ')})" if outcome else "") + "."


def _thing(target: str | None, officers: Mapping[int, str]) -> str:
    """Name what an action was on: "request R7K2", "Ofc. Chen", "the 2026"."""
    if not target:
        return ""
    kind, _, ident = target.partition(":")
    if kind == "dispatch":
        return f"request {ident}"
    if kind == "officer":
        return officers.get(int(ident), f"roster entry {ident}") if ident.isdigit() else target
    if kind in ("user", "report"):
        return ident
    return target


def _detail(action: str, detail: str | None, officers: Mapping[int, str]) -> str:
    """Turn an action's detail codes into words."""
    if not detail:
        return ""
    kind, _, ident = detail.partition(":")
    if kind == "officer":
        return _thing(detail, officers)
    if kind == "outcome":
        return OUTCOMES.get(ident, ident)
    if kind == "role":
        before, arrow, after = ident.partition("->")
        return f"from {before} to {after}" if arrow else f"as {ident}"
    if action == "roster.shift":
        return "removed" if detail == "none" else "set"
    if action == "roster.edit":
        return ", ".join(
            {"name": "name", "role": "role", "shift": "shift", "phone": "phone number"}.get(p, p)
            for p in detail.split(",")
        )
    return detail
