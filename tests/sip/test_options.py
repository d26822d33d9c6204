"""sip_options against SIPp UAS scenarios on 127.0.0.1 (UDP and TCP)."""

from __future__ import annotations

import socket

import pytest

from tests.peers.base import LOOPBACK, free_port, free_port_both
from tests.sip.conftest import run_probe

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_options_ok(sipp, transport):
    uas = sipp("options", transport=transport)
    result = await run_probe("sip_options", {"uri": uas.uri(), "transport": transport})
    assert result.ok, result.message
    assert result.values["status_code"] == 200
    assert {"resolve", "connect", "options"} <= set(result.phases)


async def test_transport_from_uri_parameter(sipp):
    uas = sipp("options", transport="tcp")
    result = await run_probe("sip_options", {"uri": f"{uas.uri()};transport=tcp"})
    assert result.ok, result.message


async def test_unexpected_code_is_error_response_with_code(sipp):
    uas = sipp("unavailable")
    # The 503 scenario answers INVITE; an OPTIONS gets SIPp's default reply, so call it with INVITE instead.
    result = await run_probe("sip_call", {"uri": uas.uri("100"), "duration": "0.2s"})
    assert not result.ok
    assert result.error == "error_response"
    assert result.values["status_code"] == 503
    assert result.values["retry_after"] == 120
    assert "Retry-After 120" in result.message


async def test_expected_codes_accept_a_404_server(sipp):
    uas = sipp("options")
    # 200 is not in the list: the live server now counts as failing, with the code it sent.
    result = await run_probe("sip_options", {"uri": uas.uri(), "expected_codes": [404, 405]})
    assert not result.ok
    assert result.error == "error_response"
    assert result.values["status_code"] == 200


async def test_udp_port_unreachable_is_connection_refused():
    port = free_port_both()
    result = await run_probe("sip_options", {"uri": f"sip:{LOOPBACK}:{port}"})
    assert not result.ok
    assert result.error == "connection_refused", result.message


async def test_tcp_refused():
    port = free_port()
    result = await run_probe("sip_options", {"uri": f"sip:{LOOPBACK}:{port}", "transport": "tcp"})
    assert result.error == "connection_refused"


async def test_silent_udp_server_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        result = await run_probe("sip_options", {"uri": f"sip:{LOOPBACK}:{port}"}, timeout=0.8)
        # Our retransmissions (Timer E) reached the socket: at least the first send and one resend.
        s.setblocking(False)
        got = []
        while True:
            try:
                got.append(s.recv(65535))
            except BlockingIOError:
                break
    assert result.error == "timeout"
    assert len(got) >= 2 and all(g.startswith(b"OPTIONS ") for g in got)
    assert len({g for g in got}) == 1  # a retransmission is the same bytes


async def test_malformed_response_is_bad_response(sipp):
    uas = sipp("malformed")
    result = await run_probe("sip_options", {"uri": uas.uri()}, timeout=1.0)
    assert result.error == "bad_response", result.message
    assert "CSeq" in result.message


async def test_response_after_deadline_is_timeout(sipp):
    uas = sipp("late")
    result = await run_probe("sip_options", {"uri": uas.uri()}, timeout=1.0)
    assert result.error == "timeout"
    assert result.duration < 3.5  # the 4 s late answer was not waited for
