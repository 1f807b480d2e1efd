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

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

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
    """A signed assertion; ``staff_id`` and ``role`` together when a staff member is behind it.

    A plain HS256 JWT (any JWT library verifies it), built here rather than by PyJWT: on every
    proxied request, PyJWT's key checks and encoder were a tenth of the gateway's CPU."""
    issued = int(now if now is not None else time.time())
    claims: dict = {"iss": ISSUER, "aud": AUDIENCE, "caller": caller, "rid": request_id[:64], "iat": issued,
                    "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex}
    if staff_id is not None:
        claims.update(sub=str(staff_id), role=role, hotels=sorted(hotels))
    signing_input = _HS256_HEADER + b"." + _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_key(secret), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def verify(token: str, secret: str) -> Assertion:
    """The assertion in ``token``; raises :class:`InvalidAssertion` for a forged, expired, unsigned or
    malformed one, or a staff JWT (no audience) passed in its place.

    The checks PyJWT's ``decode(algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER, leeway=5,
    require=[exp, iat, aud, iss])`` makes, done here at a third of its cost (its per-character
    base64 check and key preparation were most of it); stricter only in refusing padded segments,
    which no issuer of ours writes (tests/unit compare both on good and bad tokens)."""
    try:
        claims = _verified_claims(token, secret)
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
    except (KeyError, TypeError, ValueError, OverflowError, binascii.Error, UnicodeError) as exc:
        raise InvalidAssertion(type(exc).__name__) from None


_HS256_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")
_REQUIRED = ("exp", "iat", "aud", "iss")


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _unb64(segment: bytes) -> bytes:
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return secret.encode("utf-8")


def _verified_claims(token: str | bytes, secret: str) -> dict:
    """The claims of an HS256 JWT signed with ``secret`` whose registered claims hold now."""
    raw = token.encode("utf-8") if isinstance(token, str) else token
    header_b64, payload_b64, signature_b64 = raw.split(b".")  # exactly three segments, else ValueError
    header = json.loads(_unb64(header_b64))
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("not HS256")
    expected = hmac.new(_key(secret), header_b64 + b"." + payload_b64, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(signature_b64)):
        raise ValueError("bad signature")
    claims = json.loads(_unb64(payload_b64))
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    if any(claims.get(name) is None for name in _REQUIRED):
        raise KeyError("missing claim")
    now = time.time()
    if int(claims["iat"]) > now + LEEWAY_SECONDS:
        raise ValueError("issued in the future")
    if "nbf" in claims and int(claims["nbf"]) > now + LEEWAY_SECONDS:
        raise ValueError("not yet valid")
    if int(claims["exp"]) <= now - LEEWAY_SECONDS:
        raise ValueError("expired")
    if claims["iss"] != ISSUER:
        raise ValueError("other issuer")
    audience = claims["aud"]
    audience = [audience] if isinstance(audience, str) else audience
    if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience) or AUDIENCE not in audience:
        raise ValueError("other audience")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise ValueError("subject is not a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise ValueError("jti is not a string")
    return claims


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
        # In place, not a copy: the outer middlewares (metrics, tracing) read the route the router
        # records in this same scope.
        scope["headers"] = headers
        scope.setdefault("state", {})
        scope["state"]["assertion"] = assertion
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope, receive, send, status: int, detail: str) -> None:
        code = "unauthorized" if status == 401 else "not-found"
        await problem_response(status, detail, code=code, instance=scope["path"])(scope, receive, send)


def on_behalf_of(secret: str, caller: str, assertion: Assertion) -> dict[str, str]:
    """Headers for a service's call to another service's staff route, made for the staff member
    behind ``assertion`` (the one that reached the calling service): the same identity, re-signed
    by ``caller``, for this call's short lifetime."""
    return {HEADER: sign(secret, caller, request_id=assertion.request_id, staff_id=assertion.staff_id,
                         role=assertion.role, hotels=assertion.hotels)}


def httpx_signer(secret: str, caller: str):
    """An httpx request event hook signing each call as ``caller`` (with the current request id)."""
    from .logs import request_id_var

    async def sign_request(request) -> None:
        if HEADER not in request.headers:  # one signed on behalf of a staff member (on_behalf_of) stays
            request.headers[HEADER] = sign(secret, caller, request_id=request_id_var.get() or "")

    return sign_request
