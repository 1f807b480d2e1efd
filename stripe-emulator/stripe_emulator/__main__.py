"""`python -m stripe_emulator [--host H] [--port P] [--public-url U] [--webhook-url W] ...`"""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from .app import create_app
from .settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator",
                                     description="HotelMate's Stripe emulator")
    parser.add_argument("--host", help="bind address (STRIPE_EMULATOR_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (STRIPE_EMULATOR_PORT, 12111)")
    parser.add_argument("--public-url", help="base of checkout URLs (STRIPE_EMULATOR_PUBLIC_URL)")
    parser.add_argument("--webhook-url", help="where events go, '' to disable "
                                              "(STRIPE_EMULATOR_WEBHOOK_URL)")
    parser.add_argument("--webhook-secret", help="signing secret (STRIPE_EMULATOR_WEBHOOK_SECRET)")
    parser.add_argument("--webhook-events", help="comma-separated event types sent to the webhook, "
                                                 "'*' for all (STRIPE_EMULATOR_WEBHOOK_EVENTS)")
    parser.add_argument("--fixtures", dest="fixtures_path",
                        help="path to fixtures3.json (STRIPE_EMULATOR_FIXTURES)")
    parser.add_argument("--authorization-lifetime", type=float,
                        help="seconds an authorisation stays capturable (default 7 days)")
    parser.add_argument("--webhook-retry-delays",
                        help="comma-separated retry delays in seconds, last one repeats")
    parser.add_argument("--webhook-max-attempts", type=int)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true",
                        help="a line per HTTP request (STRIPE_EMULATOR_ACCESS_LOG=1); GET /_emulator/requests "
                             "lists every /v1 call either way")
    args = vars(parser.parse_args(argv))
    level = args.pop("log_level")
    # Off by default, like the services': under load the line per request was about a tenth of the
    # emulator's CPU, on the machine the system shares with it.
    access_log = args.pop("access_log") or os.environ.get("STRIPE_EMULATOR_ACCESS_LOG", "") in ("1", "true", "yes")
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env(**args)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=level.lower(), access_log=access_log)


if __name__ == "__main__":
    main()
