"""The shared UDP transport: one connected socket per next hop, responses routed by Via branch and CSeq method."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import Iterator

import pytest

from agent.core.model import Target
from agent.probes import ProbeContext
from agent.probes.sip import SipOptionsProbe
from agent.probes.sip_config import SipOptionsConfig
from agent.sip import shared_udp
from agent.sip.message import SipMessage, SipParseError, parse
from agent.sip.pool import SipTransportPool
from agent.sip.resolve import Hop
from agent.sip.shared_options import OptionsTemplate
from agent.sip.shared_udp import OptionsPing, SharedUdpSocket, SharedUdpView
from agent.sip.transaction import TransactionTimeout
from agent.sip.transport import TransportError
from agent.sip.ua import Identity, UserAgent, response_to
from tests.peers.base import LOOPBACK, free_port_both
from tests.sip.conftest import run_probe

ME = Identity("sip:dialtone@dialtone.invalid")
POOL = SipTransportPool()
"""The pool of the running test, as an Agent owns one for all its probes (renewed for every test)."""


@pytest.fixture(autouse=True)
def pool() -> Iterator[SipTransportPool]:
    """A fresh pool per test, closed after it."""
    global POOL
    POOL = SipTransportPool()
    yield POOL
    POOL.close()


def _context() -> ProbeContext:
    return ProbeContext(sip_pool=POOL)


def _socket_to(port: int, pool: SipTransportPool | None = None) -> SharedUdpSocket:
    found = [s for s in (pool or POOL).sockets() if s.remote == (LOOPBACK, port)]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def far_end() -> Iterator[socket.socket]:
    """A plain UDP socket on 127.0.0.1 playing the far end by hand."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        s.setblocking(False)
        yield s


async def _recv(sock: socket.socket) -> tuple[SipMessage, tuple[str, int]]:
    data, addr = await asyncio.get_running_loop().sock_recvfrom(sock, 65535)
    return parse(data), addr


async def _ua(port: int, pool: SipTransportPool | None = None) -> UserAgent:
    return await UserAgent.connect(Hop("udp", LOOPBACK, port, LOOPBACK), ME, pool=pool or POOL)


@pytest.mark.peer
async def test_many_concurrent_probes_share_one_socket_and_get_their_own_responses(sipp):
    # 100 at once: SIPp itself drops part of a burst of 200 on its socket.
    uas = sipp("options")
    uri = uas.uri()
    template = OptionsTemplate(uri, uri, ME.from_uri)
    uas_list = [await _ua(uas.port) for _ in range(100)]
    try:
        requests = [template.request(ua) for ua in uas_list]
        finals = await asyncio.wait_for(
            asyncio.gather(*(ua.request(req) for ua, req in zip(uas_list, requests, strict=True))), 10
        )
        sock = _socket_to(uas.port)
        assert len(sock.views) == 100 and {ua.transport.local for ua in uas_list} == {sock.local}
    finally:
        for ua in uas_list:
            ua.close()
    for req, final in zip(requests, finals, strict=True):
        assert final.status == 200
        assert final.branch == req.branch and final.get("call-id") == req.get("call-id")
    assert sock.stray == 0 and sock.received == 100
    assert not sock.views and not sock.branches and not sock.call_ids  # every route released
    assert not sock.closed  # lingers for the next probes


@pytest.mark.peer
async def test_probes_through_the_probe_api_reuse_the_socket(sipp):
    uas = sipp("options")
    probe = SipOptionsProbe(SipOptionsConfig.model_validate({"uri": uas.uri()}), _context())
    target = Target("t1", "voice", "sip_options", timeout=3.0)
    results = await asyncio.gather(*(probe.probe(target) for _ in range(100)))
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    first = _socket_to(uas.port)
    assert (await probe.probe(target)).ok
    assert _socket_to(uas.port) is first and first.received == 101


async def test_stray_and_mismatched_responses_are_ignored_and_counted(far_end):
    port = far_end.getsockname()[1]
    ua = await _ua(port)
    try:
        req = ua.new_request("OPTIONS", f"sip:{LOOPBACK}:{port}", f"sip:{LOOPBACK}:{port}")
        pending = asyncio.ensure_future(ua.request(req))
        got, addr = await _recv(far_end)
        assert got.branch == req.branch
        stray = response_to(got, 200, "OK")
        stray.set("via", got.get("via").replace(got.branch, "z9hG4bKnotours"))
        wrong_method = response_to(got, 200, "OK")
        wrong_method.set("cseq", "1 INVITE")
        unrouted = ua.new_request("BYE", "sip:x@127.0.0.1", "sip:y@127.0.0.1")  # a Call-ID we never used
        for msg in (stray, wrong_method, unrouted):
            far_end.sendto(msg.to_bytes(), addr)
        await asyncio.sleep(0.05)
        assert not pending.done()
        sock = _socket_to(port)
        assert (sock.stray, sock.unrouted) == (2, 1)
        far_end.sendto(response_to(got, 404, "Not Here").to_bytes(), addr)
        final = await asyncio.wait_for(pending, 2)
        assert final.status == 404
    finally:
        ua.close()


async def test_malformed_response_is_charged_to_its_transaction_by_raw_branch(far_end):
    port = far_end.getsockname()[1]
    ua = await _ua(port)
    try:
        req = ua.new_request("OPTIONS", f"sip:{LOOPBACK}:{port}", f"sip:{LOOPBACK}:{port}")
        pending = asyncio.ensure_future(ua.request(req))
        got, addr = await _recv(far_end)
        good = response_to(got, 200, "OK").to_bytes()
        far_end.sendto(re.sub(rb"CSeq: [^\r]*", b"CSeq: garbage", good), addr)
        far_end.sendto(b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n", addr)  # names no branch of ours
        await asyncio.sleep(0.05)
        sock = _socket_to(port)
        assert ua.transport.parse_errors and "CSeq" in ua.transport.parse_errors[0]
        assert sock.malformed == 1
        pending.cancel()
    finally:
        ua.close()


async def test_probe_cancelled_at_its_deadline_releases_its_branch(far_end):
    port = far_end.getsockname()[1]
    result = await run_probe("sip_options", {"uri": f"sip:{LOOPBACK}:{port}"}, timeout=0.3, context=_context())
    assert result.error == "timeout"
    sock = _socket_to(port)
    assert not sock.views and not sock.branches and not sock.call_ids and sock.pings == 0
    # The answer that comes too late finds no transaction: dropped and counted, nothing raises.
    got, addr = await _recv(far_end)
    far_end.sendto(response_to(got, 200, "OK").to_bytes(), addr)
    await asyncio.sleep(0.05)
    assert sock.stray == 1


@pytest.mark.peer
async def test_icmp_port_unreachable_fails_only_the_probes_to_that_destination(sipp):
    uas = sipp("options")
    dead = free_port_both()
    live_block, dead_block = {"uri": uas.uri()}, {"uri": f"sip:{LOOPBACK}:{dead}"}
    results = await asyncio.gather(
        *(run_probe("sip_options", block, context=_context()) for block in [live_block, dead_block] * 10)
    )
    for i, result in enumerate(results):
        if i % 2:
            assert result.error == "connection_refused", result.message
        else:
            assert result.ok, result.message
    assert _socket_to(dead) is not _socket_to(uas.port)
    # The refusal is not sticky: the next probe to the dead port is refused on its own ICMP, the live one works.
    assert (await run_probe("sip_options", dead_block, context=_context())).error == "connection_refused"
    assert (await run_probe("sip_options", live_block, context=_context())).ok


async def test_idle_socket_closes_after_linger_and_a_new_one_opens(far_end, monkeypatch):
    monkeypatch.setattr(shared_udp, "LINGER", 0.05)
    port = far_end.getsockname()[1]
    ua = await _ua(port)
    first = _socket_to(port)
    ua.close()
    assert isinstance(ua.transport, SharedUdpView) and ua.transport.closed and not first.closed
    await asyncio.sleep(0.15)
    assert first.closed and not [s for s in POOL.sockets() if s.remote == (LOOPBACK, port)]
    ua = await _ua(port)
    assert _socket_to(port) is not first
    ua.close()


async def test_concurrent_first_use_opens_one_socket(far_end):
    port = far_end.getsockname()[1]
    uas_list = await asyncio.gather(*(_ua(port) for _ in range(20)))
    assert len({id(ua.transport.socket) for ua in uas_list if isinstance(ua.transport, SharedUdpView)}) == 1
    for ua in uas_list:
        ua.close()


def test_socket_closes_with_its_event_loop(far_end):
    port = far_end.getsockname()[1]

    async def use() -> SharedUdpSocket:
        pool = SipTransportPool()  # nobody closes it: the loop's end does
        ua = await _ua(port, pool)
        ua.close()
        return _socket_to(port, pool)

    sock = asyncio.run(use())
    assert sock.closed


def test_parser_refuses_a_via_of_bare_commas_with_a_parse_error():
    # It used to raise IndexError, which no caller expects.
    with pytest.raises(SipParseError, match="missing Via"):
        parse(b"SIP/2.0 200 OK\r\nVia: ,\r\nFrom: <sip:a@b>\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n")


def test_options_template_matches_the_user_agents_request():
    from agent.sip.transport import Transport

    transport = Transport("udp", (LOOPBACK, 5060), lambda m, t: None, 65535)
    transport.local = (LOOPBACK, 40000)
    ua = UserAgent(transport, ME, Hop("udp", LOOPBACK, 5060, LOOPBACK))
    uri = f"sip:{LOOPBACK}:5060"
    slow = ua.new_request("OPTIONS", uri, uri)
    slow.add("contact", ua.contact)
    slow.add("accept", "application/sdp")
    fast = OptionsTemplate(uri, uri, ME.from_uri).request(ua)

    def shape(msg: SipMessage) -> bytes:
        return re.sub(rb"(branch=z9hG4bK|tag=|Call-ID: )[0-9a-f]+", rb"\1X", msg.to_bytes())

    assert shape(fast) == shape(slow)
    assert fast.branch.startswith("z9hG4bK") and len(fast.branch) == 7 + 16
    # The callback path's bytes are the same request, its tokens fresh and of the same sizes.
    branch, data = OptionsTemplate(uri, uri, ME.from_uri).encode(LOOPBACK, 40000)
    assert re.sub(rb"(branch=z9hG4bK|tag=|Call-ID: )[0-9a-f]+", rb"\1X", data) == shape(slow)
    again = OptionsTemplate(uri, uri, ME.from_uri).encode(LOOPBACK, 40000)
    msg = parse(data)
    assert msg.branch == branch and len(branch) == 7 + 16 and branch != again[0]
    assert re.fullmatch(r"[0-9a-f]{24}@dialtone", msg.get("call-id")) and msg.get("call-id") != parse(again[1]).get(
        "call-id"
    )
    assert re.search(r";tag=[0-9a-f]{12}$", msg.get("from"))


def test_options_template_keeps_percent_signs_of_the_uri():
    uri = "sip:a%25b@127.0.0.1:5060"
    _, data = OptionsTemplate(uri, uri, "sip:me%20x@dialtone.invalid").encode(LOOPBACK, 40000)
    assert data.startswith(b"OPTIONS sip:a%25b@127.0.0.1:5060 SIP/2.0\r\n") and b"sip:me%20x@" in data


async def _sends(far: socket.socket, until: float) -> list[tuple[float, bytes]]:
    """Datagrams reaching the far end, with their loop arrival times, until loop time `until`."""
    loop = asyncio.get_running_loop()
    got: list[tuple[float, bytes]] = []
    while (left := until - loop.time()) > 0:
        try:
            data, _ = await asyncio.wait_for(loop.sock_recvfrom(far, 65535), left)
        except TimeoutError:
            break
        got.append((loop.time(), data))
    return got


async def test_options_ping_retransmits_on_timer_e_and_gives_up_at_timer_f(far_end):
    port = far_end.getsockname()[1]
    loop = asyncio.get_running_loop()
    sock = await POOL.open_socket((LOOPBACK, port), max_size=65535)
    t1, t2 = 0.02, 0.08
    ping = OptionsPing(sock, "z9hG4bKping1", b"OPTIONS sip:x SIP/2.0\r\n\r\n", loop.time() + 30, t1=t1, t2=t2)
    t0 = loop.time()
    ping.start()
    got = await _sends(far_end, t0 + 64 * t1 + 0.2)
    with pytest.raises(TransactionTimeout):
        ping.waiter.result()  # Timer F (64*T1) came before the probe's deadline
    ping.close()
    times = [t - t0 for t, _ in got]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # T1, 2*T1, 4*T1 = T2, then T2 until Timer F: sends at 0, .02, .06, .14, .22 ... 1.26 (18 in all).
    assert 16 <= len(got) <= 18, times
    assert all(d == got[0][1] for _, d in got)
    assert gaps[0] == pytest.approx(t1, abs=0.015) and gaps[1] == pytest.approx(2 * t1, abs=0.015), gaps
    assert all(g == pytest.approx(t2, abs=0.03) for g in gaps[3:]), gaps
    assert times[-1] < 64 * t1
    assert not sock.branches and sock.pings == 0


async def test_options_ping_deadline_before_timer_f_is_a_timeout_error(far_end):
    port = far_end.getsockname()[1]
    loop = asyncio.get_running_loop()
    sock = await POOL.open_socket((LOOPBACK, port), max_size=65535)
    ping = OptionsPing(sock, "z9hG4bKping2", b"OPTIONS sip:x SIP/2.0\r\n\r\n", loop.time() + 0.15, t1=0.04, t2=4.0)
    ping.start()
    got = await _sends(far_end, loop.time() + 0.3)
    with pytest.raises(TimeoutError):
        ping.waiter.result()
    ping.close()
    assert len(got) == 3  # at 0, .04 and .12; the deadline at .15 ends it before the next one at .28


async def test_options_ping_proceeding_retransmits_at_t2_and_a_final_ends_it(far_end):
    port = far_end.getsockname()[1]
    loop = asyncio.get_running_loop()
    sock = await POOL.open_socket((LOOPBACK, port), max_size=65535)
    template = OptionsTemplate(f"sip:{LOOPBACK}:{port}", f"sip:{LOOPBACK}:{port}", ME.from_uri)
    branch, data = template.encode(*sock.local)
    t1, t2 = 0.02, 0.12
    ping = OptionsPing(sock, branch, data, loop.time() + 5, t1=t1, t2=t2)
    t0 = loop.time()
    ping.start()
    request, addr = await _recv(far_end)
    far_end.sendto(response_to(request, 100, "Trying").to_bytes(), addr)
    got = await _sends(far_end, t0 + t1 + 2 * t2 + 0.05)
    assert not ping.waiter.done()
    assert ping.provisional is not None and ping.provisional.status == 100
    times = [t - t0 for t, _ in got]
    # Proceeding: the next Timer E (armed at T1) resends, and from then on every T2, not 2*T1.
    assert len(times) == 3 and times[0] == pytest.approx(t1, abs=0.015), times
    assert times[1] - times[0] == pytest.approx(t2, abs=0.03) and times[2] - times[1] == pytest.approx(t2, abs=0.03)
    far_end.sendto(response_to(request, 486, "Busy Here").to_bytes(), addr)
    final = await asyncio.wait_for(asyncio.shield(ping.waiter), 2)
    assert final.status == 486
    ping.close()
    assert await _sends(far_end, loop.time() + 2 * t2) == []  # no more retransmissions
    far_end.sendto(response_to(request, 486, "Busy Here").to_bytes(), addr)  # a late copy: a stray now
    await asyncio.sleep(0.05)
    assert sock.stray == 1 and not sock.branches and sock.pings == 0


async def test_a_ping_in_flight_holds_the_socket_past_its_linger(far_end, monkeypatch):
    monkeypatch.setattr(shared_udp, "LINGER", 0.1)
    port = far_end.getsockname()[1]
    loop = asyncio.get_running_loop()
    sock = await POOL.open_socket((LOOPBACK, port), max_size=65535)
    ping = OptionsPing(sock, "z9hG4bKping3", b"OPTIONS sip:x SIP/2.0\r\n\r\n", loop.time() + 0.3)
    ping.start()
    with pytest.raises(TimeoutError):
        await ping.waiter
    assert not sock.closed  # 0.3 s in use: longer than LINGER, still open
    ping.close()
    await asyncio.sleep(0.05)
    assert not sock.closed  # lingers from the last release...
    await asyncio.sleep(0.15)
    assert sock.closed  # ...and closes once LINGER passed without use


async def test_icmp_error_fails_the_pings_in_flight(far_end):
    port = far_end.getsockname()[1]
    far_end.close()  # nobody listens: the kernel answers with port unreachable
    loop = asyncio.get_running_loop()
    sock = await POOL.open_socket((LOOPBACK, port), max_size=65535)
    ping = OptionsPing(sock, "z9hG4bKping4", b"OPTIONS sip:x SIP/2.0\r\n\r\n", loop.time() + 2)
    ping.start()
    with pytest.raises(TransportError) as err:
        await asyncio.wait_for(asyncio.shield(ping.waiter), 1)
    assert err.value.code == "connection_refused"
    ping.close()
    assert sock.pings == 0 and not sock.branches


@pytest.mark.peer
async def test_a_probe_whose_socket_closed_after_linger_opens_a_new_one(sipp, monkeypatch):
    monkeypatch.setattr(shared_udp, "LINGER", 0.05)
    uas = sipp("options")
    probe = SipOptionsProbe(SipOptionsConfig.model_validate({"uri": uas.uri()}), _context())
    target = Target("t1", "voice", "sip_options", timeout=3.0)
    assert (await probe.probe(target)).ok
    first = _socket_to(uas.port)
    await asyncio.sleep(0.15)
    assert first.closed
    result = await probe.probe(target)
    assert result.ok, result.message
    assert _socket_to(uas.port) is not first and _socket_to(uas.port).received == 1


async def test_options_with_credentials_answers_a_digest_challenge_through_the_user_agent(far_end):
    port = far_end.getsockname()[1]
    block = {"uri": f"sip:{LOOPBACK}:{port}", "username": "alice", "password": "secret"}
    pending = asyncio.ensure_future(run_probe("sip_options", block, context=_context()))
    first, addr = await asyncio.wait_for(_recv(far_end), 2)
    challenge = response_to(first, 401, "Unauthorized")
    challenge.add("www-authenticate", 'Digest realm="dialtone.test", nonce="abc123", algorithm=MD5, qop="auth"')
    far_end.sendto(challenge.to_bytes(), addr)
    second, addr = await asyncio.wait_for(_recv(far_end), 2)
    assert second.get("authorization").startswith("Digest ") and 'username="alice"' in second.get("authorization")
    assert second.branch != first.branch and second.cseq == (first.cseq[0] + 1, "OPTIONS")
    far_end.sendto(response_to(second, 200, "OK").to_bytes(), addr)
    result = await asyncio.wait_for(pending, 3)
    assert result.ok, result.message
    assert result.values["status_code"] == 200 and {"resolve", "connect", "options"} <= set(result.phases)


@pytest.mark.parametrize(
    ("status", "reason", "extra", "error"),
    [
        (503, "Service Unavailable", ("retry-after", "30"), "error_response"),
        (401, "Unauthorized", None, "auth_required"),
    ],
)
async def test_options_final_responses_are_classified_as_before(far_end, status, reason, extra, error):
    port = far_end.getsockname()[1]
    pending = asyncio.ensure_future(run_probe("sip_options", {"uri": f"sip:{LOOPBACK}:{port}"}, context=_context()))
    request, addr = await asyncio.wait_for(_recv(far_end), 2)
    far_end.sendto(response_to(request, 100, "Trying").to_bytes(), addr)  # a provisional first: no outcome yet
    answer = response_to(request, status, reason)
    if extra is not None:
        answer.add(*extra)
    far_end.sendto(answer.to_bytes(), addr)
    result = await asyncio.wait_for(pending, 3)
    assert (result.ok, result.error, result.values["status_code"]) == (False, error, status), result.message
    if extra is not None:
        assert result.values["retry_after"] == 30 and "Retry-After 30s" in result.message
