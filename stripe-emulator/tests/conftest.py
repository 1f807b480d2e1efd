"""Fixtures: the emulator served by uvicorn in a thread, a small webhook receiver, SDK clients."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import httpx
import pytest
import stripe
import uvicorn

from hotelmate_devtools.support.stripe_emulator import API_KEY, WEBHOOK_SECRET, free_port
from stripe_emulator import Settings, create_app



class Receiver:
    """Webhook endpoint answering a scripted list of statuses (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.received.append({"body": body.decode("utf-8"), "status": status,
                                              "headers": dict(self.headers)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.script.clear()

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            rows = [json.loads(r["body"]) for r in self.received]
        return [e for e in rows if type_ is None or e["type"] == type_]

    def wait_for(self, pred: Callable[[], bool], timeout: float = 30.0) -> None:  # generous: a busy machine
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.02)
        raise AssertionError("condition not met in time")


@pytest.fixture(scope="session")
def receiver():
    rec = Receiver()
    yield rec
    rec.server.shutdown()


@pytest.fixture(scope="session")
def emulator_url(receiver):
    port = free_port()
    settings = Settings.from_env(
        env={}, port=port, webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delays=(0.2, 0.5, 1.0), webhook_max_attempts=4, sweep_interval=0.2)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        assert time.time() < deadline, "emulator did not start"
        time.sleep(0.02)
    yield settings.public_url
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def control(emulator_url, receiver):
    with httpx.Client(base_url=emulator_url, timeout=10) as http:
        http.post("/_emulator/reset").raise_for_status()
        receiver.clear()
        yield http


@pytest.fixture
def client(emulator_url, control) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url},
                               max_network_retries=0)
