"""FastAPI application: Stripe's /v1 routes, the hosted checkout page, and the control routes."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from urllib.parse import parse_qs

from . import checkout_page
from .control import control_router
from .errors import StripeError
from .runtime import Emulator
from .settings import Settings
from .store import Ctx

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    emu = Emulator(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await emu.start()
        log.info("stripe emulator ready at %s (webhooks to %s)", settings.public_url,
                 settings.webhook_url or "nowhere")
        try:
            yield
        finally:
            await emu.stop()

    app = FastAPI(title="HotelMate Stripe emulator", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.emulator = emu
    store = emu.store

    # ----------------------------------------------------------------- checkout sessions
    @app.post("/v1/checkout/sessions")
    async def create_session(request: Request):
        return await emu.call(request, lambda p, ctx: store.create_session(p))

    @app.get("/v1/checkout/sessions/{sid}")
    async def get_session(request: Request, sid: str):
        return await emu.call(request, lambda p, ctx: store.get("checkout.session", sid))

    @app.post("/v1/checkout/sessions/{sid}/expire")
    async def expire_session(request: Request, sid: str):
        return await emu.call(request, lambda p, ctx: store.expire_session(sid, ctx))

    # ----------------------------------------------------------------- payment intents
    @app.get("/v1/payment_intents/{pid}")
    async def get_intent(request: Request, pid: str):
        return await emu.call(request, lambda p, ctx: store.get("payment_intent", pid))

    @app.post("/v1/payment_intents/{pid}/capture")
    async def capture(request: Request, pid: str):
        return await emu.call(request, lambda p, ctx: store.capture(pid, p, ctx))

    @app.post("/v1/payment_intents/{pid}/cancel")
    async def cancel(request: Request, pid: str):
        return await emu.call(request, lambda p, ctx: store.cancel(pid, p, ctx))

    # ----------------------------------------------------------------- refunds, charges, events
    @app.post("/v1/refunds")
    async def create_refund(request: Request):
        return await emu.call(request, lambda p, ctx: store.create_refund(p, ctx))

    @app.get("/v1/refunds/{rid}")
    async def get_refund(request: Request, rid: str):
        return await emu.call(request, lambda p, ctx: store.get("refund", rid))

    @app.get("/v1/charges/{cid}")
    async def get_charge(request: Request, cid: str):
        return await emu.call(request, lambda p, ctx: store.get("charge", cid))

    @app.get("/v1/events/{eid}")
    async def get_event(request: Request, eid: str):
        return await emu.call(request, lambda p, ctx: store.get("event", eid))

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE"])
    async def unknown(request: Request, rest: str):
        def fail(p: dict, ctx: Ctx) -> dict:
            raise StripeError(404, f"Unrecognized request URL ({request.method}: "
                                   f"{request.url.path}). This emulator speaks only the "
                                   "subset of Stripe's API that HotelMate uses.")
        return await emu.call(request, fail)

    # ----------------------------------------------------------------- hosted checkout page
    def _inactive_page(session: dict[str, Any]) -> HTMLResponse:
        if session["status"] == "complete":
            return HTMLResponse(checkout_page.error_page(
                "Already paid", "This checkout session is already complete.",
                session.get("success_url")), status_code=409)
        return HTMLResponse(checkout_page.error_page(
            "Session expired", "This checkout session has expired. Return to the merchant to "
            "start again.", session.get("cancel_url")), status_code=410)

    def _not_found_page() -> HTMLResponse:
        return HTMLResponse(checkout_page.error_page(
            "Not found", "This checkout page does not exist."), status_code=404)

    def _lookup(sid: str) -> dict[str, Any] | None:
        return store.objects["checkout.session"].get(sid)

    @app.get("/c/pay/{sid}", response_class=HTMLResponse)
    async def page(request: Request, sid: str):
        async with emu.lock:
            session = _lookup(sid)
            if session is not None:
                store.lapse_if_due(session)  # an elapsed expires_at shows as expired right away
        if session is None:
            return _not_found_page()
        if session["status"] != "open":
            return _inactive_page(session)
        return HTMLResponse(checkout_page.payment_page(session, request.url.path))

    @app.post("/c/pay/{sid}", response_class=HTMLResponse)
    async def pay(request: Request, sid: str):
        form = parse_qs((await request.body()).decode("utf-8"))
        card_number = (form.get("card_number") or [""])[0]
        async with emu.lock:
            session = _lookup(sid)
            if session is None:
                return _not_found_page()
            try:
                result = store.pay_session(sid, card_number)
            except StripeError:
                return _inactive_page(session)
        if result.outcome in ("authorized", "succeeded"):
            return HTMLResponse(checkout_page.success_page(result.session, result.message))
        status = 402 if result.outcome == "declined" else 400
        return HTMLResponse(checkout_page.payment_page(session, request.url.path,
                                                       error=result.message),
                            status_code=status)

    @app.exception_handler(StripeError)
    async def stripe_error(_: Request, exc: StripeError):
        return JSONResponse(exc.body(), status_code=exc.status)

    app.include_router(control_router(emu))
    return app
