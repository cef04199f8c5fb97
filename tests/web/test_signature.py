"""Only Twilio's signed requests reach the hotline (RELIABILITY SEC-1..7)."""

import json

import pytest
from sqlmodel import func, select

from models import Conversation, InboundMessage, OutboxMessage
from tests.support import sign, sms_params

ROUTES = ["/twilio/sms", "/twilio/status", "/twilio/fallback/sms"]


def rows(rt) -> tuple[int, int, int]:
    with rt.db.reading() as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Conversation, InboundMessage, OutboxMessage)
        )


def post(client, path, params, signature=None, **headers):
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=params, headers=headers)


@pytest.mark.parametrize("path", ROUTES)
def test_missing_signature_is_refused_without_a_trace(client, rt, path, caplog):
    response = post(client, path, sms_params("hello"))
    assert response.status_code == 403
    assert response.get_data() == b""
    assert rows(rt) == (0, 0, 0)
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("path", ROUTES)
def test_forged_signature_is_refused(client, rt, path):
    params = sms_params("hello")
    forged = sign(path, params, token="not-the-auth-token")
    assert post(client, path, params, forged).status_code == 403
    assert rows(rt) == (0, 0, 0)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: p.update(Body="ACCEPT 1234"), id="body changed"),
        pytest.param(lambda p: p.update(Extra="added after signing"), id="param added"),
        pytest.param(lambda p: p.pop("FromZip"), id="param removed"),
        pytest.param(lambda p: p.update(From="+18165550999"), id="sender changed"),
    ],
)
def test_tampered_request_is_refused(client, rt, tamper):
    params = sms_params("hello")
    signature = sign("/twilio/sms", params)
    tamper(params)
    assert post(client, "/twilio/sms", params, signature).status_code == 403
    assert rows(rt) == (0, 0, 0)


def test_signature_for_another_host_is_refused(client, rt):
    params = sms_params("hello")
    signature = sign("/twilio/sms", params, base="https://evil.example.com")
    assert post(client, "/twilio/sms", params, signature).status_code == 403


def test_public_url_behind_a_tls_proxy_validates(client):
    """Twilio signs https://public-host/...; the app sees plain http from the proxy."""
    params = sms_params("hello")
    response = client.post(
        "/twilio/sms",
        data=params,
        base_url="http://10.0.0.5:8000",
        headers={"X-Twilio-Signature": sign("/twilio/sms", params), "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 200


def test_spoofed_forwarded_host_does_not_change_the_signed_url(client):
    params = sms_params("hello")
    evil = "https://evil.example.com"
    response = client.post(
        "/twilio/sms",
        data=params,
        headers={
            "X-Twilio-Signature": sign("/twilio/sms", params, base=evil),
            "X-Forwarded-Host": "evil.example.com",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.status_code == 403


def test_query_string_is_hashed_exactly_as_received(client):
    query = "x=a+b&note=O%27Brien&sip=a@b:c&city=Sa%C3%BAl"
    params = sms_params("hello")
    signature = sign(f"/twilio/sms?{query}", params)
    response = client.post(f"/twilio/sms?{query}", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


def test_unknown_params_duplicate_keys_and_trailing_spaces_validate(client):
    params = sms_params("  yes please  ", FooBar="1", NewTwilioField="later")
    pairs = list(params.items()) + [
        ("MediaUrl0", "https://a.example/1"),
        ("MediaUrl0", "https://a.example/2"),
    ]
    from werkzeug.datastructures import MultiDict

    form = MultiDict(pairs)
    response = client.post(
        "/twilio/sms", data=form, headers={"X-Twilio-Signature": sign("/twilio/sms", form)}
    )
    assert response.status_code == 200


def test_json_body_is_refused_before_parsing(client, rt):
    body = json.dumps(sms_params("hello"))
    response = client.post(
        "/twilio/sms",
        data=body,
        content_type="application/json",
        headers={"X-Twilio-Signature": sign("/twilio/sms", {})},
    )
    assert response.status_code == 415
    assert rows(rt) == (0, 0, 0)


def test_signature_settings_we_cannot_check_fail_closed(client, rt):
    params = sms_params("hello")
    response = post(
        client,
        "/twilio/sms",
        params,
        sign("/twilio/sms", params),
        **{"X-Twilio-Webhooks-Signature-Settings": "key=abc,algorithm=HMAC_SHA256"},
    )
    assert response.status_code == 403
    assert rows(rt) == (0, 0, 0)


def test_oversized_post_is_refused_before_parsing(client, rt):
    params = sms_params("x" * 70_000)
    response = post(client, "/twilio/sms", params, sign("/twilio/sms", params))
    assert response.status_code == 413
    assert rows(rt) == (0, 0, 0)


def test_signature_check_agrees_with_twilio_python():
    """The hotline's check says yes exactly when twilio-python's RequestValidator does."""
    import random

    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    from hotline.web.twilio_webhook import signed_by_twilio

    token = "the-auth-token"
    validator = RequestValidator(token)
    chance = random.Random(8)
    urls = [
        "https://hotline.example.org/twilio/sms",
        "https://hotline.example.org:443/twilio/sms",
        "http://hotline.example.org/twilio/voice?step=menu&ref=R-12",
        "http://127.0.0.1:8000/twilio/status",
        "https://hotline.example.org/twilio/sms?",
    ]
    values = ["", " ", "hola, ¿dónde?", "a+b c&d=e", "😀", "+18165550100", "ACCEPT 1234", "x" * 300]
    outcomes = []
    for _ in range(400):
        form = MultiDict(
            [
                (
                    chance.choice(["Body", "From", "To", "MessageSid", "NumMedia", "Zz", "b"]),
                    chance.choice(values),
                )
                for _ in range(chance.randrange(0, 8))
            ]
        )
        url = chance.choice(urls)
        signed_at = chance.choice(
            [url, url.replace(".org/", ".org:443/"), url.replace(":443", ""), url + "x"]
        )
        signature = chance.choice(
            [
                validator.compute_signature(signed_at, form),
                RequestValidator("another-token").compute_signature(url, form),
                "",
                "Ω" * 28,
                validator.compute_signature(url, form)[:-1],
            ]
        )
        expected = validator.validate(url, form, signature)
        assert signed_by_twilio(token, url, form, signature) == expected, (url, signed_at, form)
        outcomes.append(expected)
    assert 20 < sum(outcomes) < 380, "both answers are tried, many times"
