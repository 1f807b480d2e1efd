"""Production mode (issue 14): the shipped compose file carries no secret, and a process refuses to
start with a missing, shipped or short secret or a weak admin password, production being the default."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from hotelmate_devtools.system import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_SETTINGS = ("HOTELMATE_SERVICE_SECRET", "HOTELMATE_JWT_SECRET", "HOTELMATE_STRIPE_WEBHOOK_SECRET",
                   "HOTELMATE_ADMIN_PASSWORD")
# What docker-compose.yml shipped before: anyone could sign an ADMIN token with it.
SHIPPED = {"HOTELMATE_JWT_SECRET": "change-me-in-production", "HOTELMATE_ADMIN_PASSWORD": "change-me-now",
           "HOTELMATE_STRIPE_WEBHOOK_SECRET": "whsec_hotelmate_dev"}


def strong() -> dict[str, str]:
    return {"HOTELMATE_SERVICE_SECRET": secrets.token_urlsafe(48), "HOTELMATE_JWT_SECRET": secrets.token_urlsafe(48),
            "HOTELMATE_STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(32),
            "HOTELMATE_ADMIN_PASSWORD": secrets.token_urlsafe(16)}


def test_compose_ships_no_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key in SECRET_SETTINGS or key == "STRIPE_EMULATOR_WEBHOOK_SECRET":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), f"{name}: {key} ships a value"
            if key == "HOTELMATE_ENV":
                assert value == "production"


def _start(module: str, env: dict[str, str], *, unset=("HOTELMATE_ENV",)) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if k not in unset}
    full.update(env)
    return subprocess.Popen([sys.executable, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port",
                             str(free_port())], env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _refused(module: str, env: dict[str, str]) -> str:
    process = _start(module, env)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{module} started with {sorted(env)}")
    assert process.returncode != 0
    return output


@pytest.mark.parametrize("setting", ["HOTELMATE_JWT_SECRET", "HOTELMATE_ADMIN_PASSWORD", "HOTELMATE_SERVICE_SECRET"])
def test_gateway_refuses_shipped_and_weak_values_by_default(setting):
    for bad in (SHIPPED.get(setting, "hotelmate-development-service-secret-not-for-production"), "short-one", ""):
        if setting == "HOTELMATE_ADMIN_PASSWORD" and not bad:
            continue  # no first admin is created without one
        output = _refused("gateway.app:app", {**strong(), setting: bad})
        assert setting in output and "production" in output
        for value in strong().values():
            assert value not in output  # secrets are never logged


def test_services_refuse_a_missing_service_secret_and_a_shipped_webhook_secret():
    assert "HOTELMATE_SERVICE_SECRET" in _refused("inventory.app:app", {**strong(), "HOTELMATE_SERVICE_SECRET": ""})
    assert "HOTELMATE_STRIPE_WEBHOOK_SECRET" in _refused(
        "payments.app:app", {**strong(), "HOTELMATE_STRIPE_WEBHOOK_SECRET": "whsec_hotelmate_dev"})


def test_production_starts_with_strong_secrets():
    port = free_port()
    full = {k: v for k, v in os.environ.items() if k != "HOTELMATE_ENV"}
    full.update(strong())
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "inventory.app:app", "--host", "127.0.0.1",
                                "--port", str(port)], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "inventory refused strong secrets"
            time.sleep(0.1)
        else:
            pytest.fail("inventory did not become ready")
    finally:
        process.terminate()
        process.wait(timeout=30)
