"""Numbers become pseudonyms, sealed texts stay sealed, logs carry no numbers, texts or places."""

import base64
import logging
import re

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hotline.plumbing.privacy import (
    Pseudonyms,
    Vault,
    install_log_scrubbing,
    mask_pattern,
    masking,
    normalise_phone,
    scrub,
)


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+18165550142", "+18165550142"),
        ("(816) 555-0142", "+18165550142"),
        ("816.555.0142", "+18165550142"),
        ("1 816 555 0142", "+18165550142"),
        ("+1 (816) 555-0142", "+18165550142"),
        ("+52 55 1234 5678", "+525512345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("anonymous", None),
        ("Restricted", None),
        ("", None),
        (None, None),
        ("12345", None),
        ("SAFEPASS", None),
    ],
)
def test_numbers_normalise_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


def test_north_american_e164_is_taken_as_it_is_only_where_phonenumbers_agrees():
    """Twilio's senders skip the parse; what they skip to is what the parse gives."""
    import random

    import phonenumbers

    def parsed(raw):
        number = phonenumbers.parse(raw, None)
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    chance = random.Random(4)
    for _ in range(3000):
        raw = "+1" + "".join(chance.choice("0123456789") for _ in range(10))
        assert normalise_phone(raw) == parsed(raw), raw
    odd = ["+1８１６５５５０１４２", "+18165550142 ", "+181655501423", "+1816555014", "+44 20 7946 0958"]
    for raw in odd:
        assert normalise_phone(raw) == parsed(raw.strip()), raw


def test_pseudonym_is_stable_across_formats_and_keyed():
    ours = Pseudonyms("secret-a")
    assert ours.of("+18165550142") == ours.of("(816) 555-0142")
    assert ours.of("+18165550142") != ours.of("+18165550143")
    assert ours.of("+18165550142") != Pseudonyms("secret-b").of("+18165550142")
    assert "5550142" not in ours.of("+18165550142")


def test_withheld_senders_get_pseudonyms_too():
    assert Pseudonyms("s").of("anonymous") == Pseudonyms("s").of(" Anonymous ")


def test_vault_rotation_reads_old_and_seals_with_new():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Vault(old).seal("QuikTrip, 291 & 3rd St")
    rotated = Vault(f"{new},{old}")
    assert rotated.open(sealed) == "QuikTrip, 291 & 3rd St"
    resealed = rotated.reseal(sealed)
    assert Vault(new).open(resealed) == "QuikTrip, 291 & 3rd St"
    assert Vault(new).open(sealed) is None, "a removed key can no longer read"


def test_sealed_text_does_not_contain_the_text():
    sealed = Vault(Fernet.generate_key().decode()).seal("+18165550142")
    assert "5550142" not in sealed


@pytest.mark.parametrize(
    "text", ["call +18165550142 now", "from (816) 555-0142", "816.555.0142 texted", "+44 20 7946 0958"]
)
def test_scrub_masks_numbers(text):
    assert "555" not in scrub(text) and "7946" not in scrub(text)
    assert "[number]" in scrub(text)


def test_scrub_keeps_sids_and_ids():
    text = "turn SM0123456789abcdef0123456789abcdef: conversation 12 now ask_safe"
    assert scrub(text) == text


def test_every_logger_is_scrubbed(caplog):
    install_log_scrubbing()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("sending to %s", "+18165550142")
    assert "5550142" not in caplog.text


# -- more real formats, and what is not a number --------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "tel:+1-816-555-0142",  # RFC 3966, as some phones share a contact
        "1-816-555-0142",
        "(816)555-0142",
        "\uff18\uff11\uff16\uff15\uff15\uff15\uff10\uff11\uff14\uff12",  # full-width digits
        "+1\u00a0816\u00a0555\u00a00142",  # no-break spaces from a copy and paste
        "+1 816 555 0142 ext. 12",
    ],
)
def test_real_world_spellings_share_one_pseudonym(raw):
    """privacy.md P1: however the number is written, it is the same code (and never the number)."""
    assert normalise_phone(raw) == "+18165550142"
    assert Pseudonyms("s").of(raw) == Pseudonyms("s").of("+18165550142")


def test_a_vault_knows_what_is_sealed_under_its_first_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Vault(old).seal("x")
    assert not Vault(f"{new},{old}").is_current(sealed)
    assert Vault(f"{new},{old}").is_current(Vault(new).seal("x"))
    with pytest.raises(ValueError):
        Vault(" , ")


@pytest.mark.parametrize(
    "text",
    [
        "outbox 12: retry 2 at 2026-05-01 12:00:05.123456",
        "127.0.0.1 POST /twilio/sms 200",
        "conversation 1234 now ask_safe",
        "timer 7 (purge) fired",
    ],
)
def test_scrub_leaves_times_addresses_and_ids_readable(text):
    assert scrub(text) == text


# -- the sealed format: AES-256-GCM, and Fernet tokens sealed before it still open ---------------


def key() -> str:
    return Fernet.generate_key().decode()


def fernet_sealed(keys: str, text: str) -> str:
    """A token as sealed before the AES-256-GCM format, under the first of the keys."""
    return MultiFernet([Fernet(k) for k in keys.split(",")]).encrypt(text.encode()).decode()


@pytest.mark.parametrize(
    "text",
    ["", "x", "QuikTrip, 291 & 3rd St", "Ünal Straße 4, café 🚗🆘", "línea\n\tdos\x00", "meet me " * 2000],
    ids=["empty", "one", "ascii", "non-ascii", "controls", "long"],
)
def test_a_sealed_text_opens_as_it_was(text):
    vault = Vault(key())
    sealed = vault.seal(text)
    assert isinstance(sealed, str) and "\n" not in sealed
    assert vault.open(sealed) == text
    assert vault.is_current(sealed)
    assert not sealed.startswith("gAAAAA"), "never taken for a Fernet token"
    assert base64.urlsafe_b64decode(sealed)[:1] == Vault.VERSION


def test_none_stays_none():
    vault = Vault(key())
    assert vault.seal(None) is None and vault.open(None) is None


def test_sealing_twice_gives_two_tokens_that_contain_nothing_of_the_text():
    vault = Vault(key())
    text = "behind the Casey's on Chipman, +18165550142"
    first, second = vault.seal(text), vault.seal(text)
    assert first != second, "a fresh nonce each time"
    assert vault.open(first) == vault.open(second) == text
    for sealed in (first, second):
        raw = base64.urlsafe_b64decode(sealed)
        for fragment in ("Casey", "Chipman", "5550142"):
            assert fragment not in sealed and fragment.encode() not in raw


def test_a_fernet_token_from_before_opens_is_not_current_and_reseals_into_the_new_format():
    keys = key()
    old = fernet_sealed(keys, "Ünal Straße 4 🚗")
    vault = Vault(keys)
    assert old.startswith("gAAAAA")
    assert vault.open(old) == "Ünal Straße 4 🚗"
    assert not vault.is_current(old), "rotation must move it to the new format"
    resealed = vault.reseal(old)
    assert not resealed.startswith("gAAAAA")
    assert vault.is_current(resealed) and vault.open(resealed) == "Ünal Straße 4 🚗"
    assert vault.open(fernet_sealed(keys, "")) == ""


def test_fernet_tokens_under_any_listed_key_open_and_reseal_under_the_first():
    old, new = key(), key()
    sealed = fernet_sealed(old, "291 & 3rd")
    both = Vault(f"{new},{old}")
    assert both.open(sealed) == "291 & 3rd" and not both.is_current(sealed)
    resealed = both.reseal(sealed)
    assert Vault(new).open(resealed) == "291 & 3rd" and Vault(new).is_current(resealed)
    assert Vault(new).open(sealed) is None


def test_rotation_from_an_old_key_to_a_new_one():
    old, new = key(), key()
    sealed = Vault(old).seal("QuikTrip, 291 & 3rd St")
    both = Vault(f"{new},{old}")
    assert both.open(sealed) == "QuikTrip, 291 & 3rd St"
    assert not both.is_current(sealed)
    assert Vault(f"{old},{new}").is_current(sealed), "current means: under the first key"
    resealed = both.reseal(sealed)
    assert both.is_current(resealed) and resealed != sealed
    assert both.reseal(resealed) != resealed, "resealing a current token is harmless"
    assert Vault(new).open(resealed) == "QuikTrip, 291 & 3rd St"
    assert Vault(new).open(sealed) is None and not Vault(new).is_current(sealed)
    assert Vault(f" {new} , ,{old} ").open(sealed) == "QuikTrip, 291 & 3rd St", "spaces and gaps in the list"


def test_a_key_listed_twice_changes_nothing():
    only = key()
    sealed = Vault(f"{only},{only}").seal("x")
    assert Vault(only).open(sealed) == "x" and Vault(only).is_current(sealed)


def test_no_listed_key_reads_it_reseal_raises_invalid_token():
    vault = Vault(key())
    for sealed in (Vault(key()).seal("elsewhere"), fernet_sealed(key(), "elsewhere"), "garbage", ""):
        with pytest.raises(InvalidToken):
            vault.reseal(sealed)


def test_every_changed_byte_is_refused():
    vault = Vault(key())
    sealed = vault.seal("291 & 3rd")
    raw = base64.urlsafe_b64decode(sealed)
    for index in range(len(raw)):
        for flip in (0x01, 0x80):
            changed = bytearray(raw)
            changed[index] ^= flip
            token = base64.urlsafe_b64encode(bytes(changed)).decode()
            assert vault.open(token) is None, (index, flip)
            assert not vault.is_current(token), (index, flip)
            with pytest.raises(InvalidToken):
                vault.reseal(token)


def test_a_token_with_the_header_of_another_key_is_refused():
    """The header is authenticated: relabelling a token with another listed key's id opens nothing."""
    first, second = key(), key()
    vault = Vault(f"{first},{second}")
    other = base64.urlsafe_b64decode(Vault(second).seal("x"))[: Vault.HEADER]
    raw = base64.urlsafe_b64decode(vault.seal("x"))
    assert vault.open(base64.urlsafe_b64encode(other + raw[Vault.HEADER :]).decode()) is None


def test_truncated_and_extended_tokens_are_refused():
    vault = Vault(key())
    sealed = vault.seal("291 & 3rd")
    raw = base64.urlsafe_b64decode(sealed)
    for length in range(len(raw)):
        token = base64.urlsafe_b64encode(raw[:length]).decode()
        assert vault.open(token) is None and not vault.is_current(token), length
    for cut in range(1, len(sealed)):
        assert vault.open(sealed[:cut]) is None, cut
    assert vault.open(base64.urlsafe_b64encode(raw + b"\x00").decode()) is None
    assert vault.open(sealed + "AAAA") is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "====",
        "not a token",
        "gAAAAA",
        "gAAAAABgarbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage==",
        "gAAAAA" + "A" * 94,
        "AQ==",
        "AQAAAAA=",
        "A" * 64,
        "AQ" + "A" * 62,
        "\u00e9\u00e9\u00e9\u00e9",
        "\ud800abc",
        "🚗" * 20,
        "gAAAAA-sealed-with-a-key-that-is-gone",
    ],
)
def test_garbage_opens_as_none_and_never_raises(token):
    vault = Vault(key())
    assert vault.open(token) is None
    assert not vault.is_current(token)
    with pytest.raises(InvalidToken):
        vault.reseal(token)


# -- the log filter: every value a Twilio request posted is masked while it is answered -----------

CANARY_BODY = "meet me behind the Casey's on Chipman"
FORM = {
    "MessageSid": "SM" + "c" * 32,
    "AccountSid": "AC" + "1" * 32,
    "From": "+18165557777",
    "Body": CANARY_BODY,
    "FromCity": "LEES SUMMIT",
    "FromZip": "64063",
    "FromState": "MO",
}


@pytest.fixture
def flask_app():
    from flask import Flask

    install_log_scrubbing()
    return Flask("privacy-test")


def test_a_careless_log_line_in_a_request_shows_no_body_number_or_place(flask_app, caplog):
    """privacy.md P5: logs carry SIDs and ids, never the number, the text, or Twilio's place fields."""
    log = logging.getLogger("hotline.careless")
    with (
        flask_app.test_request_context("/twilio/sms", method="POST", data=FORM),
        caplog.at_level(logging.DEBUG),
    ):
        from flask import request

        assert request.form["Body"] == CANARY_BODY  # the webhook has read the form
        log.info(
            "got %r from %s in %s %s", request.form["Body"], request.form["From"], "Lees Summit", "64063"
        )
        log.info("place: %s", " ".join(CANARY_BODY.upper().split()))
        log.info("turn %s for %s", FORM["MessageSid"], FORM["AccountSid"])
    text = caplog.text
    for secret in ("Casey", "Chipman", "7777", "LEES SUMMIT", "Lees Summit", "64063"):
        assert secret.lower() not in text.lower(), secret
    assert FORM["MessageSid"] in text and FORM["AccountSid"] in text, "SIDs stay readable"


def test_a_traceback_in_a_request_is_masked_too(flask_app, caplog):
    """privacy.md P5: error reports are logs too."""
    log = logging.getLogger("hotline.careless")
    with (
        flask_app.test_request_context("/twilio/sms", method="POST", data=FORM),
        caplog.at_level(logging.DEBUG),
    ):
        from flask import request

        request.form  # noqa: B018 - read, as the webhook does
        try:
            raise ValueError(f"cannot place {CANARY_BODY!r}")
        except ValueError:
            log.exception("turn %s failed", FORM["MessageSid"])
    formatted = "\n".join(logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert "ValueError" in formatted and FORM["MessageSid"] in formatted
    assert "Chipman" not in formatted


def test_a_request_whose_form_was_never_read_is_not_parsed_by_logging(flask_app, caplog):
    with (
        flask_app.test_request_context("/twilio/sms", method="POST", data=FORM),
        caplog.at_level(logging.INFO),
    ):
        from flask import request

        logging.getLogger("hotline.early").info("before the form is read")
        assert "form" not in request.__dict__


def test_values_named_outside_a_request_are_masked_inside_the_block(caplog):
    """The worker masks the number and text it is sending from whatever logs meanwhile."""
    install_log_scrubbing()
    log = logging.getLogger("twilio.http_client")
    with caplog.at_level(logging.DEBUG, logger="twilio.http_client"):
        with masking("+18165557777", CANARY_BODY):
            log.info("Data: To=%s Body=%s", "+18165557777", CANARY_BODY)
        log.info("after the block: %s", "Chipman")
    assert "Casey" not in caplog.records[0].getMessage() and "7777" not in caplog.text
    assert "Chipman" in caplog.records[1].getMessage(), "masking ends with the block"


def test_short_values_are_left_alone():
    """A menu digit or YES identifies nobody, and masking "1" would garble every line."""
    assert mask_pattern(["1", "YES", "MO"]) is None
    assert scrub("state 1, answer YES", mask_pattern(["1", "YES"])) == "state 1, answer YES"


def test_the_development_server_log_drops_query_strings(caplog):
    install_log_scrubbing()
    with caplog.at_level(logging.INFO):
        logging.getLogger("werkzeug").info(
            '%s - - [%s] "%s" %s -',
            "127.0.0.1",
            "01/May/2026 12:00:00",
            "POST /twilio/voice/step?place=Chipman HTTP/1.1",
            200,
        )
    assert "Chipman" not in caplog.text and "POST /twilio/voice/step HTTP/1.1" in caplog.text


def test_gunicorn_access_log_has_the_path_only():
    """privacy.md P5 / IT: the access log format names no query string, referer or user agent."""
    import runpy

    from tests.support import REPO

    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    fmt = settings["access_log_format"]
    assert "%(U)s" in fmt
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%(a)s", "%({"):
        assert atom not in fmt, atom


@pytest.mark.parametrize(
    "line",
    [
        "picked up at Walmart on 291 now",
        "PICKED UP AT WALMART ON 291",
        "walmart on 291's door",  # a word edge after the value
        "Walmart on 2915",  # not a whole word: left alone
        "xWalmart on 291",
        "nothing of theirs here",
        "straße Walmart on 291",  # not ASCII: the pattern decides
        "WALMART ON 29\u0661",  # an Arabic-Indic digit is no match for 1
        "turn SM0a5045b2: conversation 2 now welcome",
        "ſtate ſtreet, Kelvin \u212aing",  # long s and the Kelvin sign fold to s and k
    ],
)
@pytest.mark.parametrize("values", [["Walmart on 291"], ["State Street", "King"], ["Ünal Straße 4"]])
def test_a_mask_masks_exactly_what_its_pattern_matches(line, values):
    """Lines are passed over without building the pattern only where it could not have matched."""
    mask = mask_pattern(values)
    alternatives = "|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in mask.variants)
    assert scrub(line, mask) == scrub(re.compile(alternatives, re.IGNORECASE).sub("[redacted]", line))
