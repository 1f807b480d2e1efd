"""Ports for the servers a test starts: never one an outgoing connection may take first."""

from __future__ import annotations

import socket

import pytest

from hotelmate_devtools.chaos import PrivatePostgres
from hotelmate_devtools.system import _ephemeral_ports, free_port


def test_free_ports_lie_below_the_range_outgoing_connections_use_and_can_be_bound():
    low, _ = _ephemeral_ports()
    ports = {free_port() for _ in range(100)}
    assert all(port < low for port in ports)
    assert len(ports) > 50  # spread out, not one port handed to every caller
    for port in list(ports)[:10]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_private_postgres_that_cannot_start_says_why_in_its_own_words(private_database):
    private_database.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", private_database.port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="could not bind|already in use|could not create any TCP/IP sockets"):
            PrivatePostgres(port=private_database.port, home=private_database.home).start()
