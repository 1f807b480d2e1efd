"""Production mode: a process refuses to start with a secret that is missing, shipped or short.

``HOTELMATE_ENV`` is ``production`` unless set to ``development`` (``make run``, the tests and the
benchmarks set it). In development a missing service secret falls back to a fixed, public one, so
the processes of ``make run`` agree without configuration; production refuses that value.
"""

from __future__ import annotations

from collections.abc import Mapping

from .settings import PlatformSettings

DEVELOPMENT = "development"
PRODUCTION = "production"
DEV_SERVICE_SECRET = "hotelmate-development-service-secret-not-for-production"
MIN_SECRET_LENGTH = 32
MIN_PASSWORD_LENGTH = 12
# Every secret this repository ever shipped (compose, settings defaults, docs, test harness): public.
KNOWN_SECRETS = frozenset({
    DEV_SERVICE_SECRET, "change-me-in-production", "change-me-now", "whsec_hotelmate_dev", "secret", "changeme",
    "change-me", "password", "admin", "admin-password-for-tests", "admin-password-for-bench",
})


class InsecureConfiguration(RuntimeError):
    """Production settings that would let anyone in; the message names the settings, never values."""


def is_production(settings: PlatformSettings) -> bool:
    return settings.env.strip().lower() != DEVELOPMENT


def service_key(settings: PlatformSettings) -> str:
    """The key assertions between the gateway and the services are signed with."""
    if settings.service_secret:
        return settings.service_secret
    return "" if is_production(settings) else DEV_SERVICE_SECRET


def weak_secret(value: str | None, *, min_length: int = MIN_SECRET_LENGTH) -> str | None:
    """Why ``value`` is no secret (missing, shipped, short, one repeated character), or None."""
    if not value:
        return "missing"
    if value in KNOWN_SECRETS or value.lower() in KNOWN_SECRETS:
        return "a value shipped with HotelMate (public)"
    if len(value) < min_length:
        return f"shorter than {min_length} characters"
    if len(set(value)) < 4:
        return "too few distinct characters"
    return None


def check_production(settings: PlatformSettings, *, secrets: Mapping[str, str | None] = (),
                     passwords: Mapping[str, str | None] = ()) -> None:
    """In production, raise :class:`InsecureConfiguration` when the service secret, one of
    ``secrets`` (env name → value) or one of ``passwords`` is weak. Does nothing in development."""
    if not is_production(settings):
        return
    problems = []
    for name, value in {"HOTELMATE_SERVICE_SECRET": settings.service_secret, **dict(secrets)}.items():
        if why := weak_secret(value):
            problems.append(f"{name} is {why}")
    for name, value in dict(passwords).items():
        if value is not None and (why := weak_secret(value, min_length=MIN_PASSWORD_LENGTH)):
            problems.append(f"{name} is {why}")
    if problems:
        raise InsecureConfiguration(
            "refusing to start in production (HOTELMATE_ENV=production): " + "; ".join(problems)
            + ". Set strong values, or HOTELMATE_ENV=development on a developer's machine (docs/SECURITY.md).")
