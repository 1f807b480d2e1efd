"""The running emulator: state, lock, faults, request log, and the pipeline every /v1 call takes
(authentication → form parsing → fault injection → idempotency → operation under the lock →
the answer rendered, expanded as asked)."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from . import objects
from .errors import StripeError, api_error, auth_error
from .forms import parse_form
from .idempotency import IdempotencyStore
from .settings import Settings
from .store import Ctx, Store
from .webhooks import Dispatcher

log = logging.getLogger(__name__)

# An operation answers the stored object; the pipeline renders a copy, expanded as the request asks.
Operation = Callable[[dict[str, Any], Ctx], dict[str, Any]]


def expand_paths(params: dict[str, Any]) -> list[str]:
    value = params.get("expand") or []
    return [value] if isinstance(value, str) else list(value)


@dataclass
class Fault:
    path_prefix: str = "/v1"
    method: str | None = None
    status: int | None = None
    delay_seconds: float = 0.0
    times: int = 1
    id: str = field(default_factory=lambda: objects.new_id("flt_", 10))

    def matches(self, method: str, path: str) -> bool:
        return (self.times > 0 and path.startswith(self.path_prefix)
                and (self.method is None or self.method.upper() == method.upper()))


class Emulator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(objects.Fixtures(settings.fixtures_path),
                           public_url=settings.public_url, api_version=settings.api_version,
                           authorization_lifetime=settings.authorization_lifetime)
        self.dispatcher = Dispatcher(url=settings.webhook_url, secret=settings.webhook_secret,
                                     retry_delays=settings.webhook_retry_delays,
                                     max_attempts=settings.webhook_max_attempts,
                                     timeout=settings.webhook_timeout, events=settings.webhook_events)
        self.store.on_event = self.dispatcher.enqueue
        self.idempotency = IdempotencyStore()
        self.lock = asyncio.Lock()
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self._sweeper: asyncio.Task | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        await self.dispatcher.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.dispatcher.stop()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                async with self.lock:
                    self.store.sweep()
                    self.idempotency.prune()
            except Exception:  # keep sweeping whatever one pass hit
                log.exception("sweep failed")

    async def reset(self) -> None:
        async with self.lock:
            self.store.reset()
            self.idempotency.reset()
            self.dispatcher.reset()
            self.faults.clear()
            self.requests.clear()
            self.dispatcher.url = self.settings.webhook_url
            self.dispatcher.secret = self.settings.webhook_secret
            self.dispatcher.events = frozenset(self.settings.webhook_events)
            self.store.authorization_lifetime = self.settings.authorization_lifetime

    # ----------------------------------------------------------------- pipeline pieces
    @staticmethod
    def authenticate(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = value.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(value.strip()).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise auth_error(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.")
        if not key.startswith(("sk_test_", "rk_test_")) or len(key) <= len("sk_test_"):
            shown = key[:8] + "*" * 4 + key[-4:] if len(key) > 12 else "****"
            raise auth_error(f"Invalid API Key provided: {shown}")
        return key

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _headers(request_id: str, api_version: str, idem_key: str | None) -> dict[str, str]:
        headers = {"Request-Id": request_id, "Stripe-Version": api_version}
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        return headers

    # ----------------------------------------------------------------- the /v1 pipeline
    async def call(self, request: Request, operation: Operation) -> JSONResponse:
        method, path = request.method.upper(), request.url.path
        request_id = objects.new_id("req_", 14)
        idem_key = request.headers.get("idempotency-key") if method == "POST" else None
        entry: dict[str, Any] = {"at": time.time(), "method": method, "path": path,
                                 "idempotency_key": idem_key, "request_id": request_id,
                                 "status": None, "replayed": False, "fault": None}
        self.requests.append(entry)
        headers = self._headers(request_id, self.settings.api_version, idem_key)
        api_key = ""
        reserved = False
        try:
            api_key = self.authenticate(request)
            params = parse_form(request.url.query)
            if method == "POST":
                params.update(parse_form((await request.body()).decode("utf-8")))
            fault = self.take_fault(method, path)
            if fault is not None:
                entry["fault"] = {"status": fault.status, "delay_seconds": fault.delay_seconds}
                if fault.status is not None:
                    if fault.delay_seconds:
                        await asyncio.sleep(fault.delay_seconds)
                    log.info("fault: %s %s answered %s without running", method, path,
                             fault.status)
                    raise StripeError(fault.status, "An unknown error occurred (injected by "
                                      "the emulator).", type="api_error") \
                        if fault.status >= 500 else StripeError(fault.status, "Injected error.")
            if idem_key:
                record = self.idempotency.begin(api_key, idem_key, method, path, params,
                                                request_id)
                if record is not None:
                    entry.update(status=record.status, replayed=True)
                    headers.update({"Idempotent-Replayed": "true",
                                    "Original-Request": record.request_id})
                    return JSONResponse(record.body, status_code=record.status,
                                        headers=headers)
                reserved = True
            ctx = Ctx(request_id=request_id, idempotency_key=idem_key)
            try:
                async with self.lock:
                    body = self.store.render(operation(params, ctx), expand_paths(params))
                    status = 200
            except StripeError as exc:
                status, body = exc.status, exc.body(request_id)
            except Exception:
                log.exception("operation %s %s failed", method, path)
                exc = api_error()
                status, body = exc.status, exc.body(request_id)
            if reserved:
                self.idempotency.finish(api_key, idem_key, status, body)
                reserved = False
            if fault is not None and fault.delay_seconds:
                log.info("fault: %s %s done, answering after %.1fs", method, path,
                         fault.delay_seconds)
                await asyncio.sleep(fault.delay_seconds)
            entry["status"] = status
            return JSONResponse(body, status_code=status, headers=headers)
        except StripeError as exc:
            entry["status"] = exc.status
            return JSONResponse(exc.body(request_id), status_code=exc.status, headers=headers)
        finally:
            if reserved:  # cancelled or crashed before a result was saved
                self.idempotency.abandon(api_key, idem_key or "")
