"""Who a service believes: only a short-lived assertion signed with the service secret.

The gateway checks the staff JWT, the role and the hotel scope, then signs an *assertion* (an HS256
JWT, ``HOTELMATE_SERVICE_SECRET``, about 30 s) carrying the staff id, role, hotels and request id, and
sends it in ``X-HotelMate-Assertion``. A service calling another's ``/internal`` API signs one naming
itself. Services never read identity from anything else: :class:`TrustGate` removes every
client-set ``X-HotelMate-Staff-*`` header and puts back only what a valid assertion says, so the code
behind it may keep reading those headers. ``/internal`` and ``/api/v1/staff`` need an assertion (the
staff one carrying a staff identity allowed on the path's hotel); a forged or expired one is ``401``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from .problems import problem_response

HEADER = "X-HotelMate-Assertion"
_HEADER = HEADER.lower().encode()
ISSUER = "hotelmate"
AUDIENCE = "hotelmate-services"
TTL_SECONDS = 30
LEEWAY_SECONDS = 5  # clocks of two hosts may differ a little
STAFF_PREFIX = b"x-hotelmate-staff-"
ROLES = ("RECEPTIONIST", "MANAGER", "ADMIN")


class InvalidAssertion(Exception):
    """Not an unexpired assertion signed with the service secret."""


@dataclass(frozen=True)
class Assertion:
    """What the caller vouches for. ``caller`` is ``gateway`` or the calling service's name;
    ``staff_id``/``role``/``hotels`` are set only when a staff member is behind the request."""

    caller: str
    request_id: str = ""
    staff_id: str | None = None
    role: str | None = None
    hotels: frozenset[str] = frozenset()

    def may_see(self, hotel: str) -> bool:
        return self.role == "ADMIN" or hotel in self.hotels


def sign(secret: str, caller: str, *, request_id: str = "", staff_id: str | None = None, role: str | None = None,
         hotels: Iterable[str] = (), ttl_seconds: int = TTL_SECONDS, now: float | None = None) -> str:
    """A signed assertion; ``staff_id`` and ``role`` together when a staff member is behind it."""
    issued = int(now if now is not None else time.time())
    claims: dict = {"iss": ISSUER, "aud": AUDIENCE, "caller": caller, "rid": request_id[:64], "iat": issued,
                    "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex}
    if staff_id is not None:
        claims.update(sub=str(staff_id), role=role, hotels=sorted(hotels))
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(token: str, secret: str) -> Assertion:
    """The assertion in ``token``; raises :class:`InvalidAssertion` for a forged, expired, unsigned or
    malformed one, or a staff JWT (no audience) passed in its place."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                            leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "aud", "iss"]})
        if claims["exp"] - claims["iat"] > 10 * TTL_SECONDS:
            raise InvalidAssertion("lives too long")
        caller = claims.get("caller")
        if not isinstance(caller, str) or not caller:
            raise InvalidAssertion("no caller")
        if "sub" not in claims:
            return Assertion(caller=caller, request_id=str(claims.get("rid", "")))
        hotels = claims.get("hotels") or []
        if claims.get("role") not in ROLES or not isinstance(hotels, list) \
                or not all(isinstance(h, str) for h in hotels):
            raise InvalidAssertion("bad staff claims")
        return Assertion(caller=caller, request_id=str(claims.get("rid", "")), staff_id=str(claims["sub"]),
                         role=claims["role"], hotels=frozenset(hotels))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise InvalidAssertion(type(exc).__name__) from None


def service_headers(secret: str, caller: str, request_id: str = "") -> dict[str, str]:
    """Headers of one service-to-service call (sign one per call: assertions expire)."""
    return {HEADER: sign(secret, caller, request_id=request_id)}


def _needs_assertion(path: str) -> bool:
    return path.startswith("/internal/") or path == "/internal" or path.startswith("/api/v1/staff/")


def _staff_hotel(path: str) -> str | None:
    parts = path.split("/")  # "", "api", "v1", "staff", "hotels", "{hotel}", ...
    if len(parts) >= 6 and parts[1:5] == ["api", "v1", "staff", "hotels"]:
        return parts[5]
    return None


class TrustGate:
    """Pure ASGI: strips client-set staff headers, checks the assertion, and sets the staff headers
    from it (``X-HotelMate-Staff-Id``, ``-Role``, ``-Hotels``). See the module docstring."""

    def __init__(self, app, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = b""
        headers = []
        for name, value in scope["headers"]:
            if name == _HEADER:
                token = value
            elif not name.startswith(STAFF_PREFIX):
                headers.append((name, value))
        path = scope["path"]
        assertion = None
        if token:
            try:
                assertion = verify(token.decode("latin-1"), self.secret)
            except InvalidAssertion:
                return await self._refuse(scope, receive, send, 401, "The caller's assertion is invalid or expired.")
        elif _needs_assertion(path):
            return await self._refuse(scope, receive, send, 401, "Only the gateway or a service may call this.")
        if path.startswith("/api/v1/staff/"):
            if assertion is None or assertion.staff_id is None:
                return await self._refuse(scope, receive, send, 401, "A staff identity is required.")
            hotel = _staff_hotel(path)
            if hotel is not None and not assertion.may_see(hotel):
                return await self._refuse(scope, receive, send, 404, "No such hotel, or not one of yours.")
        if assertion is not None and assertion.staff_id is not None:
            headers += [(b"x-hotelmate-staff-id", assertion.staff_id.encode("latin-1", "replace")),
                        (b"x-hotelmate-staff-role", (assertion.role or "").encode()),
                        (b"x-hotelmate-staff-hotels", ",".join(sorted(assertion.hotels)).encode("latin-1", "replace"))]
        scope["headers"] = headers  # in place: outer middlewares (metrics) read the route the router sets
        scope.setdefault("state", {})
        scope["state"]["assertion"] = assertion
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope, receive, send, status: int, detail: str) -> None:
        code = "unauthorized" if status == 401 else "not-found"
        await problem_response(status, detail, code=code, instance=scope["path"])(scope, receive, send)


def httpx_signer(secret: str, caller: str):
    """An httpx request event hook signing each call as ``caller`` (with the current request id)."""
    from .logs import request_id_var

    async def sign_request(request) -> None:
        request.headers[HEADER] = sign(secret, caller, request_id=request_id_var.get() or "")

    return sign_request
