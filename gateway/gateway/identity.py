"""Staff credentials: argon2 password hashes and short-lived HS256 JWTs."""

from __future__ import annotations

import time
import uuid

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .domain.access import Identity, Role

ISSUER = "hotelmate-gateway"
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash(uuid.uuid4().hex)


class InvalidToken(Exception):
    """The bearer token is not a valid, unexpired staff JWT signed by us."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account (``None``) still pays for one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(identity: Identity, secret: str, ttl_seconds: int, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": identity.staff_id,
        "role": identity.role.value,
        "hotels": sorted(identity.hotels),
        "ver": identity.version,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Identity:
    """The identity in a token; raises :class:`InvalidToken` for a forged, expired, unsigned
    (``alg=none``) or malformed one. Only HS256 is accepted."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        hotels = claims.get("hotels") or []
        if not isinstance(hotels, list) or not all(isinstance(h, str) for h in hotels):
            raise InvalidToken("bad hotels claim")
        version = claims.get("ver", 0)
        if not isinstance(version, int):
            raise InvalidToken("bad version claim")
        return Identity(staff_id=str(claims["sub"]), role=Role(claims["role"]), hotels=frozenset(hotels),
                        version=version)
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidToken(type(exc).__name__) from None
