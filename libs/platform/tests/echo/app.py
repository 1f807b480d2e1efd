"""The echo worker as a full service app (health endpoints, relay, consumer), for readiness tests:
``uvicorn app:app`` with HOTELMATE_POSTGRES_URL / HOTELMATE_AMQP_URL pointing where the test wants."""

import sys
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from messages import Ping  # noqa: E402
from worker import record  # noqa: E402

from hotelmate_platform.service import create_service_app  # noqa: E402
from hotelmate_platform.settings import ServiceSettings  # noqa: E402


class EchoSettings(ServiceSettings):
    service_name: ClassVar[str] = "echo"


app = create_service_app(EchoSettings(), migrations_dir=Path(__file__).resolve().parent / "migrations",
                         handlers={Ping: record})
