"""The checks at the door: client address, rate limits, staff bearer tokens."""

from __future__ import annotations

from fastapi import Depends, Request

from hotelmate_platform.problems import Problem

from .domain.access import Identity, looks_like_jwt
from .identity import InvalidToken, read_token
from .ratelimit import TokenBuckets, retry_after
from .runtime import GatewayRuntime, get_gateway

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="hotelmate"'}


def client_address(request: Request, gateway: GatewayRuntime) -> str:
    if gateway.settings.gateway_trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            # Only the last entry was written by our proxy; the ones before it are the client's to invent.
            return forwarded.split(",")[-1].strip()[:64] or "unknown"
    return request.client.host if request.client else "unknown"


def spend(buckets: TokenBuckets, key: str, what: str) -> None:
    """Raise ``429`` with ``Retry-After`` when ``key`` has no token left."""
    wait = buckets.take(key)
    if wait:
        raise Problem(429, f"Too many {what}; retry later.", code="rate-limited",
                      headers={"Retry-After": retry_after(wait)})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Use 'Authorization: Bearer <token>'.", code="unauthorized", headers=_BEARER_CHALLENGE)
    return token.strip()


def staff_identity(request: Request, gateway: GatewayRuntime) -> Identity:
    """The staff member behind a valid JWT, after their per-identity rate limit; else ``401``
    (and each refusal spends a token of the caller's address, so guessing is rate-limited too)."""
    try:
        identity = _verified_identity(request, gateway)
    except Problem as refused:
        if refused.status == 401:
            limit_public(request, gateway)
        raise
    spend(gateway.limiters.staff, identity.staff_id, "requests")
    return identity


def _verified_identity(request: Request, gateway: GatewayRuntime) -> Identity:
    token = bearer_token(request)
    if token is None:
        raise Problem(401, "A staff token is required.", code="unauthorized", headers=_BEARER_CHALLENGE)
    if not looks_like_jwt(token):
        raise Problem(401, "Guest tokens are not accepted on staff routes.", code="unauthorized",
                      headers=_BEARER_CHALLENGE)
    try:
        return read_token(token, gateway.jwt_secret)
    except InvalidToken:
        raise Problem(401, "The staff token is invalid or expired.", code="unauthorized",
                      headers=_BEARER_CHALLENGE) from None


def public_caller(request: Request, gateway: GatewayRuntime) -> None:
    """Public and guest routes: per-address limit; a staff JWT is never accepted in a guest's place."""
    limit_public(request, gateway)
    token = bearer_token(request)
    if token is not None and looks_like_jwt(token):
        raise Problem(401, "Staff tokens are not accepted on guest routes.", code="unauthorized",
                      headers=_BEARER_CHALLENGE)


async def current_staff(request: Request, gateway: GatewayRuntime) -> Identity:
    """:func:`staff_identity`, and ``401`` when the account was disabled or changed since the token."""
    identity = staff_identity(request, gateway)
    if not await gateway.token_states.still_valid(identity, gateway.db):
        raise Problem(401, "The staff token was revoked; sign in again.", code="unauthorized",
                      headers=_BEARER_CHALLENGE)
    return identity


async def require_staff(request: Request, gateway: GatewayRuntime = Depends(get_gateway)) -> Identity:
    return await current_staff(request, gateway)


def limit_public(request: Request, gateway: GatewayRuntime = Depends(get_gateway)) -> None:
    """Spend a token of the caller's address in the public bucket (``429`` when none is left)."""
    spend(gateway.limiters.public, client_address(request, gateway), "requests")
