"""One OpenAPI document for the public API: the services' documents (fetched at request time,
cached briefly, a service that is down left out) restricted to ``/api/v1``, plus the gateway's own."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

import aiohttp

from .domain.access import route_for
from .runtime import SERVICES, GatewayRuntime

log = logging.getLogger(__name__)

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem document; `errors` lists invalid fields on 422.",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {"application/problem+json": {"schema": _PROBLEM_REF}}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


async def merged_document(gateway: GatewayRuntime, own: dict[str, Any]) -> dict[str, Any]:
    cached = gateway.openapi_cache.get("doc")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    fetched = await asyncio.gather(*(_fetch(gateway, s) for s in SERVICES))
    documents = [("gateway", own)] + [(s, d) for s, d in zip(SERVICES, fetched) if d is not None]
    doc = merge(documents, title="HotelMate API", version=own.get("info", {}).get("version", "1"))
    doc["info"]["x-services"] = {s: ("included" if d is not None else "unavailable") for s, d in zip(SERVICES, fetched)}
    gateway.openapi_cache["doc"] = (time.monotonic() + gateway.settings.gateway_openapi_cache_seconds, doc)
    return doc


async def _fetch(gateway: GatewayRuntime, service: str) -> dict[str, Any] | None:
    try:
        async with gateway.client.get(f"{gateway.upstream(service)}/openapi.json",
                                      timeout=aiohttp.ClientTimeout(total=3), raise_for_status=True) as response:
            return json.loads(await response.read())
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.info("openapi of %s left out: %s", service, type(exc).__name__)
        return None


def merge(documents: list[tuple[str, dict[str, Any]]], *, title: str, version: str) -> dict[str, Any]:
    """Public ``/api/v1`` paths of each document; schema names that clash get the service's prefix."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    for service, document in documents:
        document = copy.deepcopy(document)
        theirs = document.get("components", {}).get("schemas", {})
        renames = {n: f"{service}_{n}" for n, s in theirs.items() if n in schemas and schemas[n] != s}
        if renames:
            document = _rename_refs(document, renames)
            theirs = document.get("components", {}).get("schemas", {})
        for name, schema in theirs.items():
            schemas[renames.get(name, name)] = schema
        for path, item in document.get("paths", {}).items():
            if not _public(path, item, own=service == "gateway"):
                continue
            for method, operation in item.items():
                if method in _METHODS:
                    _document_errors(path, method, operation)
            paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {
            "staffBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "guestBearer": {"type": "http", "scheme": "bearer", "description": "The booking's guest token."},
        }},
    }


def _public(path: str, item: dict[str, Any], *, own: bool) -> bool:
    if not path.startswith("/api/v1/"):
        return False
    if own:
        return True
    # Only what the gateway actually routes to someone (never /internal, health, or strays).
    probe = path.replace("{", "x").replace("}", "x")
    return any(route_for(m.upper(), probe) for m in item if m in _METHODS)


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    """Every error answer is a problem document: say so (FastAPI's default 422 schema is not ours)."""
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = {"description": "Invalid input", "content": _PROBLEM_CONTENT}
    responses.setdefault("default", {"description": "Error (problem document)", "content": _PROBLEM_CONTENT})
    if path.startswith("/api/v1/staff/") or path.startswith("/api/v1/admin/"):
        operation.setdefault("security", [{"staffBearer": []}])
    elif "/bookings/" in path:
        operation.setdefault("security", [{"guestBearer": []}])


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                value = f"#/components/schemas/{renames.get(name, name)}"
            elif key == "schemas" and isinstance(value, dict):
                value = {renames.get(k, k): _rename_refs(v, renames) for k, v in value.items()}
                out[key] = value
                continue
            out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node
