"""Fixtures for the probe tests: certificates made once per session with the openssl CLI."""

from __future__ import annotations

import pytest

from tests.peers.base import require_binary
from tests.probes.servers import Certs, make_certs


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A private CA, server, expired, self-signed and client certificates."""
    require_binary("openssl", "openssl")
    return make_certs(tmp_path_factory.mktemp("certs"))
