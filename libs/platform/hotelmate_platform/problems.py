"""RFC 9457 problem documents: one exception type, one set of handlers for every service."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .faults import MAYBE_INFRASTRUCTURE, is_infrastructure_error

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Payload too large", 415: "Unsupported media type", 422: "Invalid input",
    429: "Too many requests", 500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
    504: "Gateway timeout",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, title: str | None = None,
                 code: str | None = None, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.code = code
        self.errors = errors
        self.headers = headers


def problem_response(status: int, detail: str | None = None, *, title: str | None = None, code: str | None = None,
                     errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                     instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://hotelmate.dev/problems/{code}" if code else "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as ``[{field, message}]`` with dotted field paths (no input echoed)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        out.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return out


OUTAGE_RETRY_AFTER_SECONDS = 5  # like the gateway's answer for an unreachable service


def install_problem_handlers(app: FastAPI) -> None:
    """Every error of ``app`` answers ``application/problem+json``."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.detail, title=exc.title, code=exc.code, errors=exc.errors,
                                headers=exc.headers, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return problem_response(422, "The request has invalid fields.", code="invalid-input",
                                errors=field_errors(exc), instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(exc.status_code, exc.detail if isinstance(exc.detail, str) else None,
                                headers=getattr(exc, "headers", None), instance=request.url.path)

    async def _unexpected(request: Request, exc: Exception):
        if is_infrastructure_error(exc):
            # The database (or broker) is away: nothing was done, and the client may try again.
            log.warning("infrastructure unavailable on %s %s: %s", request.method, request.url.path,
                        type(exc).__name__)
            return problem_response(503, "A server this service needs is unavailable; retry after the time "
                                    "given in Retry-After.", code="service-unavailable",
                                    headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
                                    instance=request.url.path)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "An unexpected error occurred.", instance=request.url.path)

    # Handlers of specific classes answer and are done; the catch-all ``Exception`` one runs in
    # Starlette's outermost middleware, which raises the error again after answering, and uvicorn
    # then closes the connection under the gateway's pooled client (a spurious 502 on its next use).
    for error in MAYBE_INFRASTRUCTURE:
        app.add_exception_handler(error, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
