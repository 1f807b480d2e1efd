"""Forwarding to the owning service: routing, identity headers, upstream failures as problems."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.routing import Match, Route as StarletteRoute
from yarl import URL

from hotelmate_platform.logs import request_id_var
from hotelmate_platform.observability.tracing import inject_headers
from hotelmate_platform.problems import Problem
from hotelmate_platform import trust

from .domain.access import AccessDenied, Audience, Identity, Route, authorize, route_for
from .gate import client_address, current_staff, public_caller
from .runtime import GatewayRuntime, get_gateway

log = logging.getLogger(__name__)

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}
_NOT_RETURNED = _HOP_BY_HOP | {"x-request-id", "date", "server"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

router = APIRouter(include_in_schema=False)


class FastRoute(StarletteRoute):
    """The proxy, matched before every other route and run as a plain Starlette endpoint.

    Nearly every request the gateway serves is forwarded; FastAPI found its catch-all route after
    matching all of the gateway's own routes and ran it through its dependency machinery: together
    about a fifth of the gateway's CPU per forwarded request. This route takes only the paths a
    service owns (``route_for``), so the gateway's own ``/api/v1`` routes (sign-in, admin, the
    OpenAPI document) and anything else still reach FastAPI's router; so does a browser asking for
    HTML (a guest opening a booking's API address is sent to its page). Errors raised here go through
    the app's exception handlers as before (Starlette's ``request_response``)."""

    def __init__(self) -> None:
        super().__init__("/api/v1/{rest:path}", forward, methods=METHODS, include_in_schema=False)

    def matches(self, scope):
        if (scope["type"] != "http" or scope["method"] not in METHODS or not scope["path"].startswith("/api/v1/")
                or _wants_html(scope) or route_for(scope["method"], scope["path"]) is None):
            return Match.NONE, {}
        return super().matches(scope)


def _wants_html(scope) -> bool:
    return any(name == b"accept" and b"text/html" in value for name, value in scope["headers"])


@router.api_route("/api/v1/{rest:path}", methods=METHODS)
async def forward(request: Request) -> Response:
    gateway = get_gateway(request)
    path = request.url.path
    route = route_for(request.method, path) if _clean(path, request.scope.get("raw_path", b"")) else None
    if route is None:
        raise Problem(404, "No such resource.", code="not-found")
    request.scope["hotelmate.route"] = f"/api/v1/* -> {route.service}"  # the metrics' route label
    identity = await current_staff(request, gateway) if route.audience is Audience.STAFF else None
    headers = _upstream_headers(request, gateway, route, identity)
    return await _send(request, gateway, route, headers)


def _clean(path: str, raw_path: bytes) -> bool:
    """No dot segments, no empty ones, no control characters: no resource has such a path, and what
    we route must be what the service sees."""
    raw = raw_path.decode("latin-1").lower()
    return (not any(seg in (".", "..") for seg in path.split("/")) and "%2e" not in raw and "//" not in path
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path))


def _upstream_headers(request: Request, gateway: GatewayRuntime, route: Route,
                      identity: Identity | None) -> list[tuple[str, str]]:
    extra: list[tuple[str, str]] = []
    keep_authorization = True
    request_id = request_id_var.get() or ""
    assertion = None
    if identity is not None:
        try:
            authorize(identity, route)
        except AccessDenied as denied:
            raise Problem(denied.status, denied.detail, code="forbidden" if denied.status == 403 else "not-found")
        # Services believe only the signed assertion (they replace these headers with what it says).
        extra = [("X-HotelMate-Staff-Id", identity.staff_id), ("X-HotelMate-Staff-Role", identity.role.value)]
        assertion = trust.sign(gateway.service_key, "gateway", request_id=request_id, staff_id=identity.staff_id,
                               role=identity.role.value, hotels=identity.hotels)
        keep_authorization = False  # the service trusts the assertion, not the JWT
    elif route.audience in (Audience.PUBLIC, Audience.GUEST):
        public_caller(request, gateway)
    headers = [
        (name, value) for name, value in request.headers.items()
        if name not in _HOP_BY_HOP and not name.startswith("x-hotelmate-") and name != "x-request-id"
        and not name.startswith("x-forwarded-") and (keep_authorization or name != "authorization")
    ]
    forwarded_for = request.headers.get("x-forwarded-for") if gateway.settings.gateway_trust_forwarded_for else None
    address = client_address(request, gateway)
    headers += [
        *extra,
        (trust.HEADER, assertion or trust.sign(gateway.service_key, "gateway", request_id=request_id)),
        ("X-Request-ID", request_id),
        ("X-Forwarded-For", f"{forwarded_for}, {address}" if forwarded_for else address),
        ("X-Forwarded-Proto", request.url.scheme),
        ("X-Forwarded-Host", request.headers.get("host", "")),
    ]
    if trace := inject_headers():  # tracing on: the service continues the gateway's span
        headers = [(n, v) for n, v in headers if n.lower() not in ("traceparent", "tracestate")] + trace
    return headers


async def _send(request: Request, gateway: GatewayRuntime, route: Route, headers) -> Response:
    body = await request.body()
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    url = gateway.upstream(route.service) + raw_path.decode("latin-1")
    if query:
        url += "?" + query.decode("latin-1")
    try:
        # encoded=True: the service sees the path exactly as checked here, not re-quoted
        async with gateway.client.request(request.method, URL(url, encoded=True), headers=headers,
                                          data=body or None, allow_redirects=False,
                                          timeout=_timeout(gateway, query)) as upstream:
            content = await upstream.read()
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        log.warning("%s unreachable for %s %s", route.service, request.method, request.url.path)
        raise Problem(503, f"The {route.service} service is unavailable; try again shortly.",
                      code="service-unavailable", headers={"Retry-After": "5"}) from None
    except asyncio.TimeoutError:
        # Over capacity, not broken: the client may retry (with its Idempotency-Key) after a pause.
        log.warning("%s timed out on %s %s", route.service, request.method, request.url.path)
        raise Problem(503, f"The {route.service} service is busy; try again shortly.", code="service-busy",
                      headers={"Retry-After": str(gateway.settings.gateway_busy_retry_after_seconds)}) from None
    except aiohttp.ClientError as exc:
        log.warning("%s failed on %s %s: %s", route.service, request.method, request.url.path, type(exc).__name__)
        raise Problem(502, f"The {route.service} service failed to answer.", code="bad-gateway") from None
    response = Response(content=content, status_code=upstream.status)
    response.raw_headers = [
        (name, value) for name, value in upstream.raw_headers if name.lower().decode() not in _NOT_RETURNED
    ] + [(b"content-length", str(len(content)).encode())]
    return response


def _timeout(gateway: GatewayRuntime, query: bytes) -> aiohttp.ClientTimeout:
    """A long poll (``?wait_for=``) may be held by the service up to its own cap: wait longer for it."""
    if b"wait_for=" not in query:
        return gateway.client.timeout
    return aiohttp.ClientTimeout(total=gateway.settings.gateway_long_poll_timeout_seconds,
                                 sock_connect=gateway.settings.gateway_upstream_connect_seconds)
