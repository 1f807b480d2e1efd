"""Emulator configuration: environment variables, with CLI flags on top (see __main__)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_VERSION = "2026-10-28.endive"
FIXTURES_RELATIVE = Path("shared") / "stripe" / "fixtures3.json"


def find_fixtures() -> Path:
    """Locate Stripe's fixtures: <repo>/../shared/stripe/fixtures3.json, or any ancestor's shared/."""
    here = Path(__file__).resolve()
    starts = [*here.parents, *Path.cwd().resolve().parents, Path.cwd().resolve()]
    for base in starts:
        for candidate in (base / FIXTURES_RELATIVE, base.parent / FIXTURES_RELATIVE):
            if candidate.is_file():
                return candidate
    # A fresh clone without shared/ beside it (or a container image): the copy shipped in the package.
    return here.parent / "data" / "fixtures3.json"


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) or ("*",)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 12111
    public_url: str = ""  # default: http://{host}:{port}
    webhook_url: str = "http://127.0.0.1:8003/webhooks/stripe"  # "" disables delivery
    webhook_secret: str = "whsec_hotelmate_dev"
    # The endpoint's enabled events, as on Stripe's webhook endpoints: ("*",) sends every event;
    # the others are still created (GET /v1/events, /_emulator/events), just not sent.
    webhook_events: tuple[str, ...] = ("*",)
    fixtures_path: Path = field(default_factory=find_fixtures)
    api_version: str = DEFAULT_API_VERSION
    # seconds an authorisation stays capturable (Stripe: 7 days for online card payments)
    authorization_lifetime: float = 7 * 24 * 3600
    # delay before retry n (1-based); the last value repeats
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
    webhook_max_attempts: int = 10
    webhook_timeout: float = 5.0
    sweep_interval: float = 1.0  # how often expired sessions / authorisations are swept

    def __post_init__(self) -> None:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        self.fixtures_path = Path(self.fixtures_path)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict = {}
        simple = {
            "STRIPE_EMULATOR_HOST": ("host", str),
            "STRIPE_EMULATOR_PORT": ("port", int),
            "STRIPE_EMULATOR_PUBLIC_URL": ("public_url", str),
            "STRIPE_EMULATOR_WEBHOOK_URL": ("webhook_url", str),
            "STRIPE_EMULATOR_WEBHOOK_SECRET": ("webhook_secret", str),
            "STRIPE_EMULATOR_WEBHOOK_EVENTS": ("webhook_events", _names),
            "STRIPE_EMULATOR_FIXTURES": ("fixtures_path", Path),
            "STRIPE_EMULATOR_API_VERSION": ("api_version", str),
            "STRIPE_EMULATOR_AUTHORIZATION_LIFETIME": ("authorization_lifetime", float),
            "STRIPE_EMULATOR_WEBHOOK_RETRY_DELAYS": ("webhook_retry_delays", _floats),
            "STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", int),
            "STRIPE_EMULATOR_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
            "STRIPE_EMULATOR_SWEEP_INTERVAL": ("sweep_interval", float),
        }
        for var, (name, conv) in simple.items():
            if var in env:
                values[name] = conv(env[var])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("webhook_retry_delays"), str):
            values["webhook_retry_delays"] = _floats(values["webhook_retry_delays"])
        if isinstance(values.get("webhook_events"), str):
            values["webhook_events"] = _names(values["webhook_events"])
        return cls(**values)
