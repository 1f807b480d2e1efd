"""Booking, asked at send time for the guest's link token (docs/SECURITY.md, "Guest tokens")."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from hotelmate_platform.production import service_key
from hotelmate_platform.trust import httpx_signer

from ..settings import NotificationsSettings
from .smtp import SendFailed


class GuestLinks:
    """``POST {booking}/internal/hotels/{h}/bookings/{id}/guest-link``, signed as notifications. A
    failure is a failed send attempt: passing (retried later) unless booking knows no such booking."""

    def __init__(self, settings: NotificationsSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=settings.booking_url.rstrip("/"), transport=transport,
            timeout=settings.mail_guest_link_timeout_seconds,
            event_hooks={"request": [httpx_signer(service_key(settings), "notifications")]})

    async def token(self, hotel: str, booking_id: str) -> str:
        path = f"/internal/hotels/{quote(hotel, safe='')}/bookings/{quote(booking_id, safe='')}/guest-link"
        try:
            answer = await self.client.post(path)
        except httpx.HTTPError as exc:
            raise SendFailed(f"guest link: booking unreachable ({type(exc).__name__})", permanent=False) from None
        if answer.status_code == 404:
            raise SendFailed("guest link: booking does not know this booking", permanent=True)
        if answer.status_code != 200:
            raise SendFailed(f"guest link: booking answered {answer.status_code}", permanent=False)
        return answer.json()["guest_token"]

    async def close(self) -> None:
        await self.client.aclose()
