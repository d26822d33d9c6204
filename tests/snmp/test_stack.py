"""Sockets have one owner: an SnmpStack closes its v2c sockets and pysnmp engine, SnmpEngines closes its
stacks, and two SnmpEngines (two agents) never share a socket. Against a real snmpd."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from agent.snmp import mibs
from agent.snmp.client import Credentials, SnmpClient, SnmpError
from agent.snmp.engines import SnmpEngines
from agent.snmp.stack import SnmpStack
from tests.peers.base import LOOPBACK
from tests.peers.snmpd import Snmpd

pytestmark = pytest.mark.peer


def _v2c(snmpd: Snmpd) -> Credentials:
    return Credentials(community=snmpd.users.community)


def _v3(snmpd: Snmpd) -> Credentials:
    u = snmpd.users
    return Credentials(version="3", user=u.v3_user, auth_key=u.auth_key, priv_key=u.priv_key)


async def _uptime(client: SnmpClient) -> int:
    (vb,) = await client.get([mibs.SYS_UPTIME])
    assert vb.kind == "timeticks" and isinstance(vb.value, int)
    return vb.value


async def test_two_agents_never_share_v2c_sockets_and_close_only_their_own(snmpd: Snmpd) -> None:
    first, second = SnmpEngines(), SnmpEngines()
    try:
        stack_a, stack_b = first.for_credentials(_v2c(snmpd)), second.for_credentials(_v2c(snmpd))
        a = SnmpClient(stack_a, LOOPBACK, snmpd.port, _v2c(snmpd), timeout=2)
        b = SnmpClient(stack_b, LOOPBACK, snmpd.port, _v2c(snmpd), timeout=2)
        assert await _uptime(a) > 0 and await _uptime(b) > 0
        assert stack_a is not stack_b and stack_a.v2c is not stack_b.v2c
        sock_a, sock_b = stack_a.v2c._socks[socket.AF_INET], stack_b.v2c._socks[socket.AF_INET]
        assert sock_a.get_extra_info("sockname") != sock_b.get_extra_info("sockname")

        first.close()
        assert sock_a.is_closing() and stack_a.closed and len(first) == 0
        t0 = time.monotonic()
        with pytest.raises(SnmpError, match="SNMP client closed") as info:
            await a.get([mibs.SYS_UPTIME])
        assert info.value.code == "snmp_error" and time.monotonic() - t0 < 0.1  # at once, not a timeout
        assert not stack_a._v2c or not stack_a._v2c._socks  # the failed request opened no new socket
        assert not sock_b.is_closing() and await _uptime(b) > 0  # the other agent polls on
    finally:
        first.close()
        second.close()
    assert sock_b.is_closing()


async def test_closing_a_stack_fails_its_outstanding_request_at_once() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a device that never answers
    silent.bind((LOOPBACK, 0))
    stack = SnmpStack()
    try:
        client = SnmpClient(stack, LOOPBACK, silent.getsockname()[1], Credentials(community="x"), timeout=5)
        request = asyncio.ensure_future(client.get([mibs.SYS_UPTIME]))
        await asyncio.sleep(0.1)
        stack.close()
        t0 = time.monotonic()
        with pytest.raises(SnmpError, match="SNMP client closed"):
            await request
        assert time.monotonic() - t0 < 0.1
    finally:
        stack.close()
        silent.close()


async def test_a_v3_stack_closes_its_pysnmp_engine(snmpd: Snmpd) -> None:
    engines = SnmpEngines()
    stack = engines.for_credentials(_v3(snmpd))
    assert engines.for_credentials(_v2c(snmpd)) is not stack and len(engines) == 2
    client = SnmpClient(stack, LOOPBACK, snmpd.port, _v3(snmpd), timeout=2)
    assert await _uptime(client) > 0
    engine = stack.pysnmp
    assert engine.transport_dispatcher is not None and stack._v2c is None  # v3 made no v2c sockets
    engines.close()
    assert engine.transport_dispatcher is None  # pysnmp's sockets and timer are gone
    with pytest.raises(SnmpError, match="SNMP client closed"):
        await client.get([mibs.SYS_UPTIME])
