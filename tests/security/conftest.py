"""The whole system once for the security tests (stopped when the run leaves this folder), a desk
that opens hotels through the gateway, and clients straight at each service's port."""

from __future__ import annotations


import httpx
import pytest

from hotelmate_devtools.flows.booking import Desk

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
ENV = {"HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000", "HOTELMATE_GATEWAY_PUBLIC_BURST": "100000",
       "HOTELMATE_GATEWAY_TRUST_FORWARDED_FOR": "true",
       "HOTELMATE_BOOKING_MAX_UNPAID_PER_EMAIL": "2", "HOTELMATE_BOOKING_MAX_UNPAID_PER_ADDRESS": "4",
       "HOTELMATE_MAIL_NEW_ADDRESSES_PER_HOTEL_PER_HOUR": "3",
       "HOTELMATE_STRIPE_WEBHOOK_RATE_PER_SECOND": "0.1", "HOTELMATE_STRIPE_WEBHOOK_RATE_BURST": "8"}


@pytest.fixture(scope="session")
def system(system_factory):
    return system_factory(NAMES, env=ENV)


@pytest.fixture
async def http(system):
    async with httpx.AsyncClient(base_url=system.layout.url("gateway"), timeout=30) as client:
        yield client


@pytest.fixture
async def direct(system):
    """``direct("booking")``: a client straight at a service's port, as an attacker inside the network."""
    clients = []

    def make(service: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=system.layout.url(service), timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


_desk_login: dict[str, str] = {}
_opened: set[str] = set()


@pytest.fixture
async def desk(http) -> Desk:
    """An ADMIN desk (one login for the whole folder: sign-in is rate-limited)."""
    desk = Desk(http)
    if not _desk_login:
        await desk.login()
        _desk_login.update(desk.headers)
    desk.headers = dict(_desk_login)
    return desk


@pytest.fixture
def open_hotel(desk):
    async def open_(hotel: str, rooms: int = 3) -> str:
        if hotel not in _opened:
            await desk.open_hotel(hotel, rooms=rooms)
            _opened.add(hotel)
        return hotel
    return open_
