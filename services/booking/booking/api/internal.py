"""Service-to-service routes (``/internal``, signed assertions only: hotelmate_platform.trust)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from hotelmate_platform.problems import Problem
from hotelmate_platform.production import service_key
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository
from ..commands import utcnow
from ..domain.links import link_expiry, link_key, new_link_token

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post("/hotels/{hotel}/bookings/{booking_id}/guest-link")
async def mint_guest_link(hotel: str, booking_id: str, request: Request, runtime: Runtime = Depends(get_runtime)):
    """A link token for the guest's email, minted at send time (docs/SECURITY.md): only
    notifications may ask, so no clear token ever waits in a message or a queued email."""
    assertion = getattr(request.state, "assertion", None)
    if assertion is None or assertion.caller != "notifications":
        raise Problem(403, "Only notifications may ask for a guest link.", code="forbidden")
    async with runtime.db.reads() as session:
        booking = await repository.link_facts(session, booking_id, hotel)
    if booking is None:
        raise Problem(404, "No such booking.", code="not-found")
    expires_on = link_expiry(booking["check_out"], utcnow().date())
    token = new_link_token(link_key(service_key(runtime.settings)), booking["id"], booking["token_digest"], expires_on)
    return {"guest_token": token, "expires_on": expires_on.isoformat()}
