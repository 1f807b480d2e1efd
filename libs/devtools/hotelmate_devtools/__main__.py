"""``python -m hotelmate_devtools run``: start every process of HotelMate in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from hotelmate_platform.db import ensure_database
from hotelmate_platform.settings import PlatformSettings

from .first_run import Servers, development_admin, ensure_demo_hotel
from .preflight import unreachable
from .system import SERVICES, Layout, System

ORDER = ("stripe-emulator", "smtp-sink", *SERVICES, "gateway")


def run() -> int:
    settings = PlatformSettings()
    servers = Servers()  # first run: an embedded PostgreSQL, a local RabbitMQ, where none answers
    try:
        return _run(settings, servers)
    finally:
        servers.stop()


def _run(settings: PlatformSettings, servers: Servers) -> int:
    problems = servers.ensure(settings)
    if problems:
        for problem in problems:
            print(f"hotelmate: {problem}", file=sys.stderr)
        return 2
    admin = development_admin()
    os.environ.setdefault("HOTELMATE_ADMIN_EMAIL", admin["email"])
    os.environ.setdefault("HOTELMATE_ADMIN_PASSWORD", admin["password"])
    for service in (*SERVICES, "gateway"):
        ensure_database(settings.database_url(service))
    # HOTELMATE_RUN_PORTS=random: free ports instead of the fixed ones (a second copy, the first-run test)
    system = System(Layout.random_ports() if os.environ.get("HOTELMATE_RUN_PORTS") == "random" else Layout())
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        system.start(ORDER)
        print(f"hotelmate: all ready — gateway at {system.layout.url('gateway')}/api/v1 "
              f"(docs at {system.layout.url('gateway')}/api/v1/docs, mail at {system.layout.url('smtp-sink-web')}). "
              "Ctrl-C stops everything.", flush=True)
        gateway = system.layout.url("gateway")
        print(f"hotelmate: {ensure_demo_hotel(gateway, admin)}; staff console at {gateway}/console/", flush=True)
        while not stopping:
            dead = [name for name, p in system.processes.items() if not p.alive()]
            if dead:
                print(f"hotelmate: {', '.join(dead)} exited; stopping", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"hotelmate: {exc}", file=sys.stderr)
        return 1
    finally:
        system.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="hotelmate")
    parser.add_argument("command", choices=["run", "preflight"])
    args = parser.parse_args()
    if args.command == "preflight":
        problems = unreachable()
        for problem in problems:
            print(f"hotelmate: {problem}", file=sys.stderr)
        return 2 if problems else 0
    return run()


if __name__ == "__main__":
    sys.exit(main())
