"""Makes ``notifications_support`` (fixtures and factories) importable by the tests of this service."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notifications_support import bus, isolated_bus_cleanup, smtp_server  # noqa: E402,F401  (fixtures)
