"""``python -m stripe_emulator`` as a user starts it: its log says what happened to payments, and a
line per HTTP request only when asked for (under load those lines were about a tenth of its CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from hotelmate_devtools.support.stripe_emulator import API_KEY, free_port


def _serve_one_session(extra: list[str], env: dict[str, str]) -> str:
    """Start the emulator, create a Checkout Session through its API, stop it: everything it printed."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "stripe_emulator", "--port", str(port), "--webhook-url", "", *extra],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_emulator/requests", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/checkout/sessions", auth=(API_KEY, ""), data={
            "mode": "payment", "success_url": "http://x.test/ok", "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": "eur", "line_items[0][price_data][unit_amount]": "1000",
            "line_items[0][price_data][product_data][name]": "Room"}, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    return output


@pytest.mark.parametrize("extra, env", [([], {}), ([], {"STRIPE_EMULATOR_ACCESS_LOG": "0"})])
def test_no_line_per_request_by_default(extra, env):
    output = _serve_one_session(extra, env)
    assert '"POST /v1/checkout/sessions HTTP/1.1" 200' not in output
    assert "Uvicorn running" in output  # it did log: start-up lines still show


@pytest.mark.parametrize("extra, env", [(["--access-log"], {}), ([], {"STRIPE_EMULATOR_ACCESS_LOG": "1"})])
def test_access_log_when_asked(extra, env):
    assert '"POST /v1/checkout/sessions HTTP/1.1" 200' in _serve_one_session(extra, env)
