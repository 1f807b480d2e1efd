"""What the guest pages and the staff console share: templates and calls to the gateway's own API.

The pages are one more client of the public API: each call goes through the gateway (routing, access
checks, rate limits) over loopback, exactly as a browser's script or a partner's server would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import Request
from fastapi.templating import Jinja2Templates

from ..runtime import get_gateway

HERE = Path(__file__).resolve().parent


# The pages' own scripts and styles only (no inline code), forms posted to the gateway only.
PAGES_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
             "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class Templates(Jinja2Templates):
    def TemplateResponse(self, *args, **kwargs):  # noqa: N802 - Starlette's name
        response = super().TemplateResponse(*args, **kwargs)
        response.headers["Content-Security-Policy"] = PAGES_CSP
        response.headers["Cache-Control"] = "no-store"
        return response


def templates(folder: Path) -> Jinja2Templates:
    found = Templates(directory=[str(folder), str(HERE / "templates")])
    found.env.filters["money"] = money
    return found


def money(value: Any) -> str:
    if not value:
        return "—"
    return f"{value['amount']} {value['currency']}"


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 300

    def problem(self) -> str:
        """The problem's words for a person: its title, detail and each field's message."""
        if not isinstance(self.body, dict):
            return f"The request failed ({self.status})."
        text = self.body.get("detail") or self.body.get("title") or f"The request failed ({self.status})."
        fields = [f"{e.get('field')}: {e.get('message')}" for e in self.body.get("errors") or [] if isinstance(e, dict)]
        return text + (" " + "; ".join(fields) if fields else "")


async def call(request: Request, method: str, path: str, *, body: Any = None, token: str | None = None,
               headers: dict[str, str] | None = None, raw: bool = False) -> Answer:
    """``method path`` on this gateway's own API, with ``token`` as the bearer."""
    gateway = get_gateway(request)
    port = request.scope.get("server", ("127.0.0.1", 80))[1]
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    timeout = aiohttp.ClientTimeout(total=40)
    async with gateway.client.request(method, f"http://127.0.0.1:{port}{path}", data=data, headers=sent,
                                      timeout=timeout) as answer:
        content = await answer.read()
    if raw:
        return Answer(answer.status, content)
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    return Answer(answer.status, parsed)
