"""What the running gateway holds: settings, its database, the one upstream client, the limiters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from fastapi import Request

from hotelmate_platform.db import Database

from .accounts import TokenStates
from .ratelimit import TokenBuckets
from .settings import GatewaySettings

SERVICES = ("inventory", "booking", "payments", "notifications")


@dataclass
class Limiters:
    public: TokenBuckets
    staff: TokenBuckets
    login_account: TokenBuckets
    login_address: TokenBuckets

    @classmethod
    def from_settings(cls, s: GatewaySettings) -> "Limiters":
        return cls(
            public=TokenBuckets(s.gateway_public_rate_per_minute, s.gateway_public_burst),
            staff=TokenBuckets(s.gateway_staff_rate_per_minute, s.gateway_staff_burst),
            login_account=TokenBuckets(s.gateway_login_account_per_minute, s.gateway_login_account_burst),
            login_address=TokenBuckets(s.gateway_login_address_per_minute, s.gateway_login_address_burst),
        )


@dataclass
class GatewayRuntime:
    settings: GatewaySettings
    db: Database
    client: aiohttp.ClientSession
    jwt_secret: str
    limiters: Limiters
    service_key: str = ""  # signs the assertions sent to the services (hotelmate_platform.trust)
    token_states: TokenStates = field(default_factory=lambda: TokenStates(2.0))
    openapi_cache: dict[str, Any] = field(default_factory=dict)

    def upstream(self, service: str) -> str:
        return self.settings.service_url(service).rstrip("/")


def get_gateway(request: Request) -> GatewayRuntime:
    """FastAPI dependency: the running gateway."""
    return request.app.state.gateway
