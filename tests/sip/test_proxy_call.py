"""A call through Kamailio (407 proxy auth, Record-Route) to a SIPp UAS: ACK and BYE follow the route set."""

from __future__ import annotations

import pytest

from tests.peers.kamailio import start_kamailio
from tests.readings import number
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_call_through_proxy(sipp, tmp_path, transport):
    uas = sipp("answer", echo=True, extra=("-m", "1"))
    proxy = start_kamailio(tmp_path / "kam", algorithm="SHA-256", uas_port=uas.port)
    try:
        block = {"uri": proxy.uri("100"), "transport": transport, "from": f"sip:alice@{'127.0.0.1'}",
                 "username": "alice", "password": "alice-secret", "duration": "0.6s"}  # fmt: skip
        result = await run_probe("sip_call", block, timeout=4.0)
        assert result.ok, (result.error, result.message)
        assert result.values["status_code"] == 200
        assert number(result.values["rtp_packets_received"]) > 0
        assert "bye" in result.phases
    finally:
        proxy.stop()
    # SIPp (-m 1) exits 0 only once its scenario completed: ACK and BYE arrived through the proxy.
    assert uas.process.wait(5) == 0, uas.process.log()


async def test_call_without_credentials_is_auth_required(sipp, tmp_path):
    uas = sipp("answer", echo=True)
    proxy = start_kamailio(tmp_path / "kam", uas_port=uas.port)
    try:
        block = {"uri": proxy.uri("100"), "from": "sip:alice@127.0.0.1", "duration": "0.3s"}
        result = await run_probe("sip_call", block)
        assert result.error == "auth_required"
        assert result.values["status_code"] == 407
    finally:
        proxy.stop()
