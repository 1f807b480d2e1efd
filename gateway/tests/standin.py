"""A stand-in upstream for the routing tests: answers every path with what it received.

Started as its own process (``uvicorn standin:app``); ``STANDIN_NAME`` names the service it plays.
The real services are used elsewhere (tests/integration/test_real_inventory.py).
"""

import asyncio
import base64
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

NAME = os.environ.get("STANDIN_NAME", "standin")
app = FastAPI(title=f"stand-in {NAME}", openapi_url=None, docs_url=None, redoc_url=None)

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": NAME, "version": "0"},
    "paths": {
        f"/api/v1/staff/hotels/{{hotel}}/{NAME}-things": {"get": {"responses": {"200": {"description": "ok"}}}},
        f"/internal/{NAME}/secret": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/healthz": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
    "components": {"schemas": {"Thing": {"type": "object", "title": NAME}}},
}


@app.get("/readyz")
async def readyz():
    return {"status": "ready"}


@app.get("/openapi.json")
async def openapi():
    return DOCUMENT


@app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def echo(path: str, request: Request):
    if "slow" in path:
        await asyncio.sleep(5)
    body = await request.body()
    return JSONResponse({
        "service": NAME,
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": {k: v for k, v in request.headers.items()},
        "body": base64.b64encode(body).decode(),
    }, headers={"X-Standin": NAME})
