"""Migrate one service's database and exit: ``python -m hotelmate_platform.migrate <service>``.

What each service also does at start, as a step of its own for deployments that run migrations
before the new version's pods (the Kubernetes migration Jobs in deploy/k8s). Creates the database
if it is missing, upgrades it to head (an advisory lock serialises concurrent runs), exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from .db import prepare_database
from .logs import configure_logging
from .settings import ServiceSettings

SERVICES = ("gateway", "inventory", "booking", "payments", "notifications")


def locate(service: str) -> tuple[ServiceSettings, Path]:
    """The service's settings (from the environment) and its migrations directory."""
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    package = importlib.import_module(service)
    module = importlib.import_module(f"{service}.settings")
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, ServiceSettings) and c.service_name == service]
    migrations = Path(package.__file__).resolve().parent.parent / "migrations"
    return classes[0](), migrations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotelmate_platform.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    args = parser.parse_args(argv)
    settings, migrations = locate(args.service)
    configure_logging(f"{args.service}-migrate", settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(logging.INFO)
    prepare_database(settings.database, migrations)
    logging.getLogger(__name__).info("%s database at head", args.service)
    return 0


if __name__ == "__main__":
    sys.exit(main())
