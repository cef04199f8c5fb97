"""Sign-in limits: how often a client address, and a username, may reach the password check.

Checked before any password hash: argon2 runs on the same workers that answer Twilio, so a
guesser must cost them next to nothing. Nobody is ever locked out of an account: a guesser slows
down only the address it guesses from, and the username it guesses at only from addresses that
have failed already, so the real sergeant signs in from their own phone or desk meanwhile.

- every sign-in from one address: ADDRESS_BURST and ADDRESS_ATTEMPTS (moving windows, counted
  before the check);
- failed sign-ins from one address: ADDRESS_FAILURES (a slow guesser stops too);
- failed sign-ins for one username: USERNAME_FAILURES, enforced only on an address with a failure.

The client address is the one werkzeug's ProxyFix takes from HOTLINE_TRUSTED_PROXIES proxies.
Counts live where the throttle keeps its counts (HOTLINE_RATE_LIMIT_STORAGE: a redis:// URL shared by
every worker and host, or this process's memory). If Redis cannot be reached, this process's memory
counts instead: a broken counter must neither open the door to a flood nor shut it on staff.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond, storage
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

#: At most 3 in any 10 seconds and 10 in any minute: a flood's few hashes are spread out, not a burst
#: that holds every worker at once (nobody types three passwords in ten seconds).
ADDRESS_BURST = RateLimitItemPerSecond(3, 10, namespace="signin-address-burst")
ADDRESS_ATTEMPTS = RateLimitItemPerMinute(10, namespace="signin-address")
ADDRESS_FAILURES = RateLimitItemPerHour(30, namespace="signin-address-failed")
USERNAME_FAILURES = RateLimitItemPerMinute(10, 15, namespace="signin-username-failed")
WARN_EVERY_SECONDS = 60
#: A limit check may not hold up a sign-in longer than this on a slow Redis.
REDIS_TIMEOUT_SECONDS = 0.25


@dataclass(frozen=True)
class Refusal:
    """A sign-in refused before the password check, and for how long."""

    reason: str  # address | username
    retry_after: int  # seconds

    @property
    def wait(self) -> str:
        """Say how long to wait, in words."""
        if self.retry_after <= 90:
            return f"{self.retry_after} second{'s' if self.retry_after != 1 else ''}"
        return f"{math.ceil(self.retry_after / 60)} minutes"


class SignInLimits:
    """Count sign-ins per address and failures per address and username."""

    def __init__(self, url: str) -> None:
        self._warned: dict[str, float] = {}
        self.fallback = MovingWindowRateLimiter(storage.MemoryStorage())
        if url.startswith(("redis://", "rediss://")):
            shared = storage.storage_from_string(
                url,
                key_prefix="hotline:signin",
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.limiter = MovingWindowRateLimiter(shared)
        else:
            self.limiter = self.fallback

    def admit(self, address: str, username: str) -> Refusal | None:
        """Count one sign-in attempt; return why it may not reach the password check, if it may not."""
        try:
            return self._admit(self.limiter, address, username)
        except StorageError as error:
            log.error("sign-in limit storage failed (%s); counting in this process", type(error).__name__)
            return self._admit(self.fallback, address, username)

    def failed(self, address: str, username: str) -> None:
        """Count a failed sign-in against its address and its username."""
        try:
            self._failed(self.limiter, address, username)
        except StorageError as error:
            log.error("sign-in limit storage failed (%s); counting in this process", type(error).__name__)
            self._failed(self.fallback, address, username)

    def _admit(self, limiter: MovingWindowRateLimiter, address: str, username: str) -> Refusal | None:
        if not limiter.test(ADDRESS_BURST, address):
            return self._refusal(limiter, "address", ADDRESS_BURST, address)
        if not limiter.hit(ADDRESS_ATTEMPTS, address):
            return self._refusal(limiter, "address", ADDRESS_ATTEMPTS, address)
        limiter.hit(ADDRESS_BURST, address)
        failures = limiter.get_window_stats(ADDRESS_FAILURES, address)
        if failures.remaining <= 0:
            return self._refusal(limiter, "address", ADDRESS_FAILURES, address)
        has_failed = failures.remaining < ADDRESS_FAILURES.amount
        if has_failed and not limiter.test(USERNAME_FAILURES, username):
            return self._refusal(limiter, "username", USERNAME_FAILURES, username)
        return None

    @staticmethod
    def _failed(limiter: MovingWindowRateLimiter, address: str, username: str) -> None:
        limiter.hit(ADDRESS_FAILURES, address)
        limiter.hit(USERNAME_FAILURES, username)

    def _refusal(self, limiter, reason: str, item, key: str) -> Refusal:
        now = time.time()
        if now - self._warned.get(reason, 0.0) >= WARN_EVERY_SECONDS:
            # Once a minute at most: a flood must not flood the logs too (no address or name logged).
            self._warned[reason] = now
            log.warning("sign-ins refused before the password check: too many for one %s", reason)
        reset = limiter.get_window_stats(item, key).reset_time
        return Refusal(reason, max(1, math.ceil(reset - now)))


def signin_limits(app: Flask | None = None) -> SignInLimits:
    """Return the app's sign-in limits, built on first use (after any fork: sockets are per process)."""
    app = app or current_app
    found = app.extensions.get("hotline_signin_limits")
    if found is None:
        url = app.config.get("HOTLINE_RATE_LIMIT_STORAGE") or "memory://"
        found = app.extensions.setdefault("hotline_signin_limits", SignInLimits(url))
    return found
