"""The echo worker as a full service app (health endpoints, relay, consumer), for readiness tests:
``uvicorn hotelmate_devtools.echo.app:app`` with HOTELMATE_POSTGRES_URL / HOTELMATE_AMQP_URL pointing where the test wants."""

from pathlib import Path
from typing import ClassVar

from hotelmate_devtools.echo.messages import Ping
from hotelmate_devtools.echo.worker import record

from hotelmate_platform.service import create_service_app
from hotelmate_platform.settings import ServiceSettings


class EchoSettings(ServiceSettings):
    service_name: ClassVar[str] = "echo"


app = create_service_app(EchoSettings(), migrations_dir=Path(__file__).resolve().parent / "migrations",
                         handlers={Ping: record})
