"""Point the hotline number's Twilio webhooks at this deployment (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.plumbing.runtime import Runtime
from hotline.plumbing.transport import NumberSettings, TransportError, TwilioTransport

# Our routes for each of the number's webhook settings at Twilio.
ROUTES = {
    "sms_url": "/twilio/sms",
    "sms_fallback_url": "/twilio/fallback/sms",
    "voice_url": "/twilio/voice",
    "voice_fallback_url": "/twilio/fallback/voice",
    "status_callback": "/twilio/status",
}
#: Paths older instructions gave for a setting: still answered the same way, so a number set by hand
#: to one keeps working (`hotline doctor` accepts it; `hotline twilio configure` moves it to ROUTES).
OLDER_ROUTES = {"status_callback": ("/twilio/voice/status",)}


class ProvisioningError(RuntimeError):
    """The number could not be checked or configured; the message says why and what to do."""


@dataclass(frozen=True)
class Change:
    """One webhook setting that differs from what this deployment needs."""

    setting: str
    was: str | None
    wanted: str


def wanted_webhooks(rt: Runtime) -> dict[str, str]:
    """Return the webhook URLs this deployment needs on its Twilio number."""
    return {setting: rt.public_url(path) for setting, path in ROUTES.items()}


def older_urls(rt: Runtime, setting: str) -> tuple[str, ...]:
    """Return the older URLs of a setting that this deployment still answers."""
    return tuple(rt.public_url(path) for path in OLDER_ROUTES.get(setting, ()))


def twilio_api(rt: Runtime) -> TwilioTransport:
    """Return a REST client for the configured account, even when texts go through the local transport."""
    config = rt.config
    missing = [
        n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER") if not config.get(n)
    ]
    if missing:
        raise ProvisioningError("Set " + ", ".join(missing) + " to reach Twilio.")
    if isinstance(rt.transport, TwilioTransport):
        return rt.transport
    return TwilioTransport(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config["TWILIO_PHONE_NUMBER"],
        base_url=config.get("TWILIO_API_BASE_URL") or None,
    )


def hotline_number(rt: Runtime, api: TwilioTransport) -> NumberSettings:
    """Return the hotline number's settings at Twilio, or explain why it cannot be found."""
    phone = rt.config["TWILIO_PHONE_NUMBER"]
    try:
        number = api.find_number(phone)
    except TransportError as error:
        raise ProvisioningError(
            f"Twilio refused the lookup ({error}); check the account SID and token."
        ) from None
    if number is None:
        raise ProvisioningError(
            "TWILIO_PHONE_NUMBER is not a number of this Twilio account; buy or port it, or fix the setting."
        )
    return number


def differences(number: NumberSettings, wanted: dict[str, str]) -> list[Change]:
    """Return the settings that do not point at this deployment."""
    return [
        Change(setting, getattr(number, setting), url)
        for setting, url in wanted.items()
        if getattr(number, setting) != url
    ]


def configure(rt: Runtime) -> list[Change]:
    """Set every webhook of the hotline number that is not already ours; return what changed."""
    api = twilio_api(rt)
    number = hotline_number(rt, api)
    changes = differences(number, wanted_webhooks(rt))
    if changes:
        try:
            api.configure_number(number.sid, {change.setting: change.wanted for change in changes})
        except TransportError as error:
            raise ProvisioningError(f"Twilio refused the update ({error}).") from None
    return changes
