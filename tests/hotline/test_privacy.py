"""Numbers become pseudonyms, sealed texts stay sealed, logs carry no numbers."""

import logging

import pytest
from cryptography.fernet import Fernet

from hotline.privacy import Pseudonyms, Vault, install_log_scrubbing, normalise_phone, scrub


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
