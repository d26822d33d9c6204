"""The last shipped alerts driven from the real agent's own /metrics into a real Prometheus (shipped rules,
every `for:` shortened to 1 s) and the shipped Alertmanager routes, each checked at the webhook.

Media and agent faults: a SIPp UAS that rings 5.5 s after the INVITE (PostDialDelayHigh); a SIPp UAS playing
a pcap that lost every fourth packet (VoiceQualityPoor); HTTP targets flapping every probe while Mosquitto is
stopped, so state changes pile up in the outbox (DialtoneMqttOutboxBacklog); the history folder taken away
and a file put in its place, which the agent cannot write into even as root (DialtoneHistoryWriteErrors).

A starved scheduler: `scheduler.concurrency: 1` and three HTTP targets that answer after 2.5 s hold the one
slot, so every other target starts seconds late (DialtoneSchedulerLate) and is not probed for more than
three intervals (DialtoneProbesStale).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from tests.deploy.record_stack import RecordStack, record_stack
from tests.deploy.stack import serve_app
from tests.peers.base import LOOPBACK
from tests.peers.pcap import write_rtp_pcap
from tests.sip.sipp import SCENARIOS, start_sipp

pytestmark = pytest.mark.peer

FLAPPERS = 6
SLOW = 3
PCMA_SILENCE = b"\xd5" * 160


@asynccontextmanager
async def odd_site() -> AsyncIterator[int]:
    """HTTP on 127.0.0.1: /flap/N fails twice then succeeds (2 transitions every 3 probes at threshold 2/1);
    /slow/N answers 200 after 2.5 s. Returns the port."""
    calls: Counter[str] = Counter()

    async def flap(request: web.Request) -> web.Response:
        calls[request.path] += 1
        return web.Response(status=200 if calls[request.path] % 3 == 0 else 503)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2.5)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/flap/{n}", flap)
    app.router.add_get("/slow/{n}", slow)
    async with serve_app(app) as port:
        yield port


@contextmanager
def media_peers(tmp: Path) -> Iterator[tuple[str, str]]:
    """Two SIPp UASes: one ringing late (echoing media), one playing a lossy pcap. Returns their URIs."""
    tmp.mkdir()
    pcap = tmp / "lossy.pcap"
    write_rtp_pcap(pcap, [PCMA_SILENCE] * 250, 8, lose_every=4)  # 5 s of A-law, a quarter of it lost
    scenario = tmp / "sipp_lossy_uas.xml"
    scenario.write_text(
        (SCENARIOS / "sipp_answer_pcap_uas.xml").read_text().replace("/usr/share/sip-tester/g711a.pcap", str(pcap))
    )
    with ExitStack() as stack:
        late = start_sipp("late_ring", tmp / "late", echo=True)
        stack.callback(late.stop)
        lossy = start_sipp("lossy", tmp / "lossy", scenario_file=scenario)
        stack.callback(lossy.stop)
        yield late.uri("100"), lossy.uri("100")


def media_targets(port: int, late: str, lossy: str) -> str:
    """The extra targets of the media test (braces doubled: record_stack formats them)."""
    flappers = "".join(
        f"  - {{{{id: flap-{n}, component: portal, kind: http, interval: 200ms, timeout: 150ms, "
        f'http: {{{{url: "http://{LOOPBACK}:{port}/flap/{n}", valid_status_codes: [200]}}}}}}}}\n'
        for n in range(FLAPPERS)
    )
    return (
        flappers
        + f"""  - {{{{id: calls-late, component: calls, kind: sip_call, interval: 10s, timeout: 9s,
      sip_call: {{{{uri: "{late}", duration: 500ms, expect_echo: true}}}}}}}}
  - {{{{id: calls-lossy, component: calls, kind: sip_call, interval: 3s, timeout: 2900ms,
      sip_call: {{{{uri: "{lossy}", codec: pcma, duration: 1500ms, expect_echo: false}}}}}}}}
"""
    )


async def wait_alerts(
    stack: RecordStack,
    expected: list[tuple[str, str, dict[str, str]]],
    timeout: float,
) -> None:
    """Each (alert, receiver, labels) reaches the webhook."""
    hook = stack.hook
    for name, receiver, labels in expected:
        await hook.wait_for(
            lambda n=name, r=receiver, ls=labels: bool(  # type: ignore[misc]
                hook.alerts(r, alertname=n, **ls)
            ),
            timeout,
            f"{name} {labels} at {receiver}",
        )


async def test_media_and_agent_faults_reach_the_webhook(tmp_path: Path) -> None:
    async with odd_site() as port:
        with media_peers(tmp_path / "media") as (late, lossy):
            async with record_stack(tmp_path, for_="1s", extra=media_targets(port, late, lossy)) as stack:
                await stack.until("dialtone_mqtt_connected == 1", 30)
                await asyncio.to_thread(stack.broker.stop)
                history = tmp_path / "history"
                await stack.until("dialtone_history_last_flush_seconds", 30)
                assert (history / "history.sqlite").is_file()
                history.rename(tmp_path / "history.gone")
                history.write_text("not a folder")  # root may write anywhere, but not into a file

                # The figures behind each alert, from the agent's own series in Prometheus.
                pdd = await stack.until('probe_sip_post_dial_delay_seconds{target="calls-late"} > 5', 60)
                assert float(pdd[0]["value"][1]) < 7, pdd
                mos = await stack.until('probe_voice_mos{target="calls-lossy"} < 3.6', 60)
                loss = await stack.query('probe_rtp_packet_loss_ratio{target="calls-lossy"}')
                assert loss and 0.2 <= float(loss[0]["value"][1]) <= 0.3, (mos, loss)
                await stack.until("dialtone_mqtt_outbox_depth > 100", 60)
                await stack.until("dialtone_history_write_errors_total > 0", 30)

                agent = {"component": "dialtone"}
                await wait_alerts(
                    stack,
                    [
                        ("PostDialDelayHigh", "tickets", {"component": "calls", "target": "calls-late"}),
                        ("VoiceQualityPoor", "tickets", {"component": "calls", "target": "calls-lossy"}),
                        ("DialtoneMqttOutboxBacklog", "tickets", agent),
                        ("DialtoneHistoryWriteErrors", "tickets", agent),
                    ],
                    60,
                )
                # The healthy call target (echoed, ringing after 200 ms) fires neither.
                calm = stack.hook.alerts(target="calls-sip")
                assert not [a for a in calm if a["labels"]["alertname"] in ("PostDialDelayHigh", "VoiceQualityPoor")]


async def test_starved_scheduler_reaches_the_webhook(tmp_path: Path) -> None:
    async with odd_site() as port:
        slow = "".join(
            f"  - {{{{id: slow-{n}, component: portal, kind: http, interval: 3s, timeout: 3s, "
            f'http: {{{{url: "http://{LOOPBACK}:{port}/slow/{n}", valid_status_codes: [200]}}}}}}}}\n'
            for n in range(SLOW)
        )
        async with record_stack(tmp_path, for_="1s", extra=slow, settings="scheduler: {concurrency: 1}") as stack:
            # core-a runs every second; starved, its last run falls more than 3 intervals behind.
            await stack.until(
                'timestamp(dialtone_probe_last_run_timestamp_seconds{target="core-a"})'
                ' - dialtone_probe_last_run_timestamp_seconds{target="core-a"} > 3',
                60,
            )
            await wait_alerts(
                stack,
                [
                    ("DialtoneProbesStale", "pager", {"component": "core", "target": "core-a"}),
                    ("DialtoneSchedulerLate", "tickets", {"component": "dialtone"}),
                ],
                90,
            )
