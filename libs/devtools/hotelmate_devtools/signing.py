"""Calling a service's port directly in tests and benchmarks, as the gateway would.

Services believe only a signed assertion (``hotelmate_platform.trust``). :func:`as_gateway` is an
httpx request hook: it turns the ``X-HotelMate-Staff-Id``/``-Role``/``-Hotels`` headers a test sets
into a fresh assertion signed with the run's service secret (and removes them), and signs every
other call as the gateway (or, if asked, a staff route as an ADMIN), so a test keeps saying who it
is with plain headers.
"""

from __future__ import annotations

from hotelmate_platform import trust
from hotelmate_platform.production import service_key
from hotelmate_platform.settings import PlatformSettings


def run_service_key() -> str:
    """The service secret the processes of this run use (from the environment)."""
    return service_key(PlatformSettings())


def assertion_headers(*, staff_id: str | None = None, role: str | None = None, hotels=(), caller: str = "gateway",
                      secret: str | None = None) -> dict[str, str]:
    """Headers carrying one fresh assertion (they expire: sign per request)."""
    token = trust.sign(secret or run_service_key(), caller, staff_id=staff_id, role=role if staff_id else None,
                       hotels=hotels)
    return {trust.HEADER: token}


def as_gateway(secret: str | None = None, *, admin_by_default: bool = False):
    """An httpx (async) request hook; see the module docstring. ``admin_by_default``: a staff route
    called without staff headers is signed as an ADMIN (else as the gateway alone: ``401``)."""
    key = secret or run_service_key()

    async def sign(request) -> None:
        sign_request(request, key, admin_by_default=admin_by_default)

    return sign


def sign_request(request, key: str, *, admin_by_default: bool = False) -> None:
    """Sign one httpx request in place (sync clients: ``event_hooks={"request": [lambda r: sign_request(r, key)]}``)."""
    if trust.HEADER in request.headers:
        return  # the test chose its own (a forged or expired one, say)
    staff_id = request.headers.pop("x-hotelmate-staff-id", None)
    role = request.headers.pop("x-hotelmate-staff-role", None)
    hotels = request.headers.pop("x-hotelmate-staff-hotels", None)
    if staff_id is not None:
        # Without a hotels header the test means "every hotel": only an ADMIN sees them all.
        scope = [h for h in (hotels or "").split(",") if h]
        request.headers.update(assertion_headers(staff_id=staff_id, role=(role or "RECEPTIONIST").upper(),
                                                 hotels=scope, secret=key))
        if not scope:
            _see_every_hotel(request, key, staff_id, (role or "RECEPTIONIST").upper())
    elif admin_by_default and request.url.path.startswith("/api/v1/staff/"):
        # A staff route called with no identity: the test plays an ADMIN the gateway let through.
        request.headers.update(assertion_headers(staff_id="tests", role="ADMIN", secret=key))
    else:
        request.headers.update(assertion_headers(secret=key))


def _see_every_hotel(request, key: str, staff_id: str, role: str) -> None:
    """Scope the assertion to the hotel of the path (the gateway has checked it already)."""
    parts = request.url.path.split("/")
    if len(parts) >= 6 and parts[1:5] == ["api", "v1", "staff", "hotels"]:
        request.headers.update(assertion_headers(staff_id=staff_id, role=role, hotels=[parts[5]], secret=key))
