"""Rate limits of the API, and the one answer to "which address is this client".

Authenticated callers are limited per user (a token is its user's, so per token too), anonymous
ones per address. Rates are read from DRF's settings on every request instead of being frozen
when DRF's classes are imported, so changed settings take effect (and tests can lower them).
The history lives in the default cache, which every web server shares (the database cache, see
settings). A throttled call answers 429 `throttled` with `Retry-After` (infra.errors).
"""

from django.http import HttpRequest
from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_SettingsRate, throttling.AnonRateThrottle):
    pass


def client_address(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the X-Forwarded-For entry the last of
    TRUSTED_PROXY_COUNT proxies added (DRF's NUM_PROXIES rule), for throttles and login lockouts alike."""
    return throttling.BaseThrottle().get_ident(request)
