"""The inventory service: catalogue, availability, quotes, holds and room assignments."""

from pathlib import Path

from hotelmate_platform.service import create_service_app

from .settings import InventorySettings

settings = InventorySettings()
app = create_service_app(settings, migrations_dir=Path(__file__).resolve().parent.parent / "migrations")
