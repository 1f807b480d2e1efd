"""Control routes for tests, under /_emulator/ (JSON in, JSON out, no API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import StripeError
from .runtime import Emulator, Fault


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise StripeError(400, "Body must be a JSON object.")
    if not isinstance(data, dict):
        raise StripeError(400, "Body must be a JSON object.")
    return data


def control_router(emu: Emulator) -> APIRouter:
    router = APIRouter(prefix="/_emulator")
    store = emu.store

    @router.get("/health")
    async def health():
        return {"ok": True, "webhook_url": emu.dispatcher.url,
                "public_url": emu.settings.public_url}

    @router.post("/reset")
    async def reset():
        await emu.reset()
        return {"ok": True}

    # ----------------------------------------------------------------- faults
    @router.post("/faults")
    async def add_fault(request: Request):
        data = await _json(request)
        status, delay = data.get("status"), float(data.get("delay_seconds") or 0)
        if status is None and delay <= 0:
            raise StripeError(400, "A fault needs `status` and/or `delay_seconds`.")
        fault = Fault(path_prefix=str(data.get("path_prefix") or "/v1"),
                      method=(data.get("method") or None),
                      status=int(status) if status is not None else None,
                      delay_seconds=delay, times=int(data.get("times", 1)))
        emu.faults.append(fault)
        return JSONResponse(vars(fault), status_code=201)

    @router.get("/faults")
    async def list_faults():
        return {"data": [vars(f) for f in emu.faults]}

    @router.delete("/faults")
    async def clear_faults():
        emu.faults.clear()
        return {"ok": True}

    # ----------------------------------------------------------------- payments
    @router.post("/checkout/sessions/{sid}/pay")
    async def pay(request: Request, sid: str):
        data = await _json(request)
        async with emu.lock:
            result = store.pay_session(sid, str(data.get("card_number", "")))
            pid = result.session.get("payment_intent")
            pi = store.render(store.objects["payment_intent"][pid]) if pid else None
            session = store.render(result.session)
        status = {"authorized": 200, "succeeded": 200, "declined": 402}.get(result.outcome, 400)
        return JSONResponse({"outcome": result.outcome, "message": result.message,
                             "checkout_session": session, "payment_intent": pi},
                            status_code=status)

    @router.post("/checkout/sessions/{sid}/expire")
    async def expire_session(sid: str):
        """Let the session lapse as if its expires_at had passed (automatic expiry)."""
        async with emu.lock:
            return store.render(store.expire_session(sid, None, automatic=True))

    @router.post("/payment_intents/{pid}/expire_authorization")
    async def expire_authorization(request: Request, pid: str):
        """Make the authorisation lapse now. With {"cancel": false} the intent stays in
        requires_capture until the next capture attempt (or sweep) finds it expired."""
        data = await _json(request)
        async with emu.lock:
            return store.render(store.expire_authorization(pid, bool(data.get("cancel", True))))

    @router.post("/config")
    async def config(request: Request):
        """Change settings at run time: authorization_lifetime (seconds), webhook_url,
        webhook_secret, webhook_events (the endpoint's enabled events, ["*"] for all)."""
        data = await _json(request)
        if "authorization_lifetime" in data:
            store.authorization_lifetime = float(data["authorization_lifetime"])
        if "webhook_url" in data:
            emu.dispatcher.url = str(data["webhook_url"] or "")
        if "webhook_secret" in data:
            emu.dispatcher.secret = str(data["webhook_secret"])
        if "webhook_events" in data:
            events = data["webhook_events"]
            if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
                raise StripeError(400, "`webhook_events` is a list of event types, or [\"*\"] for all.")
            emu.dispatcher.events = frozenset(events or ["*"])
        return {"authorization_lifetime": store.authorization_lifetime,
                "webhook_url": emu.dispatcher.url, "webhook_events": sorted(emu.dispatcher.events)}

    # ----------------------------------------------------------------- observation
    @router.get("/requests")
    async def requests(method: str | None = None, path_prefix: str | None = None):
        rows = [r for r in emu.requests
                if (method is None or r["method"] == method.upper())
                and (path_prefix is None or r["path"].startswith(path_prefix))]
        return {"data": rows}

    @router.get("/events")
    async def events(type: str | None = None):
        rows = [d.summary() for d in emu.dispatcher.deliveries
                if type is None or d.event["type"] == type]
        return {"data": rows}

    return router
