"""A test-only message type, registered once for both the test process and the worker processes."""

from hotelmate_contracts import Message, register
from hotelmate_contracts.envelope import REGISTRY


class Ping(Message):
    TYPE = "test.ping"
    n: int
    fail: bool = False


if Ping.TYPE not in REGISTRY:
    register(Ping)
