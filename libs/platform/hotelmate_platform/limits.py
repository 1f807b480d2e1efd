"""Limits every HTTP entry applies before any route runs (the gateway and every service).

- ``413`` for a body over ``max_bytes``, whatever the method (a GET or DELETE body counts too), at
  once from Content-Length or while reading a chunked body, which is then replayed byte for byte.
- ``422`` for a NUL character anywhere in the path, the query or a JSON body (raw or ``\\u0000``):
  PostgreSQL text cannot hold one, so letting it through ends in a ``500``. Other control characters
  are refused field by field by the contracts' text rule (``hotelmate_contracts.text``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from .problems import problem_response

# A JSON \u0000 escape: an odd run of backslashes before "u0000" (an even run is literal backslashes).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def has_nul_in_json(body: bytes) -> bool:
    return b"\x00" in body or (b"u0000" in body.lower() and _JSON_NUL.search(body) is not None)


def _nul_in(raw: bytes) -> bool:
    return b"\x00" in raw or b"\x00" in unquote_to_bytes(raw)


class RequestLimits:
    """Pure ASGI; see the module docstring."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"] or _nul_in(scope.get("raw_path") or b"") or _nul_in(scope.get("query_string", b"")):
            return await self._refuse(scope, receive, send, 422, "The path or query holds a NUL character.",
                                      "invalid-input")
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._too_large(scope, receive, send)
        if length == b"0" or (length is None and b"transfer-encoding" not in headers):
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._too_large(scope, receive, send)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").lower()
        if (not content_type or b"json" in content_type) and has_nul_in_json(body):
            return await self._refuse(scope, receive, send, 422, "The body holds a NUL character.", "invalid-input")
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        await self._refuse(scope, receive, send, 413, f"The body is larger than {self.max_bytes} bytes.",
                           "body-too-large")

    @staticmethod
    async def _refuse(scope, receive, send, status: int, detail: str, code: str):
        await problem_response(status, detail, code=code, instance=scope["path"])(scope, receive, send)
