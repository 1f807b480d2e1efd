"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked: it parses,
every service names a command and settings that exist in the code, and start order follows health."""

import importlib
import importlib.util
from pathlib import Path

import yaml

from hotelmate_platform.settings import PlatformSettings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_MODULES = ["inventory.settings", "booking.settings", "payments.settings", "notifications.settings",
                    "gateway.settings"]


def _all_setting_env_names() -> set[str]:
    names = {f"HOTELMATE_{f.upper()}" for f in PlatformSettings.model_fields}
    for module_name in SETTINGS_MODULES:
        module = importlib.import_module(module_name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, PlatformSettings):
                names |= {f"HOTELMATE_{f.upper()}" for f in obj.model_fields}
    return names


def _module_of(command: list[str]) -> str:
    if command[0] == "uvicorn":
        return command[1].split(":")[0]
    assert command[:2] == ["python", "-m"], command
    return command[2]


def test_every_service_runs_a_module_that_exists():
    apps = {name: svc for name, svc in COMPOSE["services"].items() if "build" in svc}
    assert set(apps) >= {"inventory", "booking", "payments", "notifications", "gateway", "stripe-emulator"}
    for name, service in apps.items():
        module = _module_of(service["command"])
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert (ROOT / service["build"]["dockerfile"]).is_file()


def test_every_setting_in_compose_is_a_setting_of_the_code():
    known = _all_setting_env_names()
    for name, service in COMPOSE["services"].items():
        for key in (service.get("environment") or {}):
            if key.startswith("HOTELMATE_"):
                assert key in known, f"{name}: {key} is not a setting any service reads"
            elif key.startswith(("STRIPE_EMULATOR_", "SMTP_SINK_")):
                module = _module_of(service["command"]).split(".")[0]
                package_dir = Path(importlib.util.find_spec(module).origin).parent
                source = "".join(p.read_text() for p in package_dir.rglob("*.py"))
                assert key in source, f"{name}: {key} is not read by {module}"


def test_services_wait_for_healthy_dependencies():
    services = COMPOSE["services"]
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] == "service_healthy"


def test_broker_and_database_keep_their_data_across_recreation():
    services = COMPOSE["services"]
    for name, data_dir in (("postgres", "/var/lib/postgresql/data"), ("rabbitmq", "/var/lib/rabbitmq")):
        mounts = dict(v.split(":", 1)[::-1] for v in services[name].get("volumes", []))
        assert data_dir in mounts, f"{name} keeps {data_dir} in the container only"
        assert mounts[data_dir] in COMPOSE.get("volumes", {}), f"{name}: {mounts[data_dir]} is not a named volume"
    assert services["rabbitmq"].get("hostname"), "RabbitMQ's node name (and data directory) follows the hostname"


def test_the_emulator_sends_payments_the_events_it_acts_on_and_no_others():
    from payments.webhooks import HANDLED

    enabled = COMPOSE["services"]["stripe-emulator"]["environment"]["STRIPE_EMULATOR_WEBHOOK_EVENTS"]
    assert sorted(enabled.split(",")) == sorted(HANDLED)
