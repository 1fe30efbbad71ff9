"""Fixtures of the P4Runtime server tests: an in-process server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from p4rt_testlib import Client, Server


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    """A client that is primary (election id 1) on a device running the mini program."""
    with Client(server.address) as connected:
        connected.become_primary(1)
        connected.set_pipeline()
        yield connected
