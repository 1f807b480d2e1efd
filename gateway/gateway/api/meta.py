"""Health, readiness (the gateway's database and each service), the merged API document, docs page."""

from __future__ import annotations

import asyncio

import aiohttp
from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse

from ..gate import limit_public
from ..openapi import merged_document
from ..runtime import SERVICES, GatewayRuntime, get_gateway

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(gateway: GatewayRuntime = Depends(get_gateway)) -> JSONResponse:
    """``200`` while the gateway itself can serve (its database answers), so routes to healthy
    services keep working; ``status`` is ``ready`` only when every service is ready too."""
    database, *services = await asyncio.gather(_database(gateway), *(_service(gateway, s) for s in SERVICES))
    checks = {"database": database, **dict(zip(SERVICES, services))}
    all_ready = all(v == "ok" for v in checks.values())
    status = "ready" if all_ready else ("degraded" if database == "ok" else "not ready")
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if database == "ok" else 503)


async def _database(gateway: GatewayRuntime) -> str:
    try:
        await asyncio.wait_for(gateway.db.ping(), timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"down: {type(exc).__name__}"


async def _service(gateway: GatewayRuntime, service: str) -> str:
    try:
        async with gateway.client.get(f"{gateway.upstream(service)}/readyz",
                                      timeout=aiohttp.ClientTimeout(total=2)) as response:
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok" if status == 200 else f"not ready: {status}"


@router.get("/api/v1/openapi.json", dependencies=[Depends(limit_public)])
async def openapi_document(request: Request, gateway: GatewayRuntime = Depends(get_gateway)) -> JSONResponse:
    return JSONResponse(await merged_document(gateway, request.app.openapi()))


@router.get("/api/v1/docs", dependencies=[Depends(limit_public)])
async def docs_page():
    return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="HotelMate API")
