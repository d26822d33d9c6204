"""The stack of the end-to-end test of record: a real agent probing real peers of every kind the dashboards
read (HTTP, sip_call through SIPp, pstn_call through two Kamailios, SNMP from snmpd), publishing to Mosquitto,
scraped by a real Prometheus loading the shipped rules, alerting a real Alertmanager with the shipped config.

Targets are down from the start where a test needs a standing condition (a partial outage, a dead device,
a failing SIP target), and HTTP ones are switched by `status`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.runtime.app import Agent
from agent.runtime.config import load_config
from tests.deploy.helpers import Webhook, fast_rules, test_alertmanager_config, webhook_receiver
from tests.deploy.stack import PromQueries, _targets
from tests.peers.alertmanager import Alertmanager
from tests.peers.base import LOOPBACK, free_port
from tests.peers.mosquitto import Mosquitto
from tests.peers.prometheus import Prometheus
from tests.pstn.peers import DID, TRUNK_PASSWORD, TRUNK_USER, extension_password, start_carrier, start_platform
from tests.sip.sipp import start_sipp
from tests.snmp.conftest import ACTIVE_CALLS
from tests.snmp.conftest import start_agent as start_snmpd

# HTTP targets by name; the component is the name's prefix. split-b starts down.
HTTP = ("core-a", "portal-a", "split-a", "split-b", "voice-http", "maint-a")
COMPONENTS = {
    "core": "core",
    "portal": "supporting",
    "split": "core",
    "voice": "voice_messaging",
    "calls": "voice_messaging",
    "pstn": "voice_messaging",
    "sbcs": "supporting",
    "maint": "voice_messaging",
    "gw": "supporting",
}


@dataclass
class RecordStack(PromQueries):
    """The pieces a test drives and reads."""

    status: dict[str, int]
    agent: Agent
    config_path: Path
    prometheus: Prometheus
    alertmanager: Alertmanager
    hook: Webhook
    traps: int
    snmpd: Any
    broker: Mosquitto


def agent_yaml(
    tmp: Path, listen: int, http_port: int, peers: dict[str, Any], extra: str = "", settings: str = ""
) -> str:
    """The agent's config: every kind, one second apart, failure threshold 2; `settings` are more top-level
    lines. The history lives in a folder of its own (tmp/history), which a test may take away."""
    components = "\n".join(f"  - {{id: {c}, name: {c}, tier: {t}}}" for c, t in COMPONENTS.items())
    http = "\n".join(
        f"  - {{id: {n}, component: {n.split('-')[0]}, kind: http, interval: 1s, timeout: 500ms, "
        f'http: {{url: "http://{LOOPBACK}:{http_port}/{n}", valid_status_codes: [200]}}}}'
        for n in HTTP
    )
    closed = free_port()
    return f"""
vantage: record
listen: {LOOPBACK}:{listen}
thresholds: {{failures: 2, successes: 1}}
history: {{path: {tmp / "history" / "history.sqlite"}, batch_interval: 100ms}}
web: {{enable_reload: true}}
{settings}
mqtt: {{port: {peers["mqtt"]}, reconnect_min: 50ms, reconnect_max: 400ms}}
snmp_traps: {{listen: "{LOOPBACK}:{peers["traps"]}", communities: [dialtone-ro]}}
components:
{components}
targets:
{http}
  - {{id: voice-options, component: voice, kind: sip_options, interval: 1s, timeout: 500ms,
      sip_options: {{uri: "sip:{LOOPBACK}:{closed}"}}}}
  - {{id: calls-sip, component: calls, kind: sip_call, interval: 2s, timeout: 1900ms,
      labels: {{route: sipp}}, sip_call: {{uri: "{peers["sipp"]}", duration: 500ms, expect_echo: true}}}}
  - id: pstn-loop
    component: pstn
    kind: pstn_call
    interval: 8s
    timeout: 6s
    pstn_call:
      route: carrier-a
      number: "{DID}"
      trunk: "{peers["carrier"]}"
      username: {TRUNK_USER}
      password: {TRUNK_PASSWORD}
      from_number: "+18015559999"
      duration: 1500ms
      settle: 100ms
      answer: {{registrar: "{peers["platform"]}", extension: "1001", password: "{extension_password("1001")}"}}
  - {{id: sbc-ok, component: sbcs, kind: snmp, interval: 1s, timeout: 500ms,
      snmp: {{address: "{peers["snmpd"]}", community: dialtone-ro, retries: 0,
              checks: [{{name: active_calls, oid: "{ACTIVE_CALLS}.1"}}]}}}}
  - {{id: sbc-dead, component: sbcs, kind: snmp, interval: 1s, timeout: 300ms,
      snmp: {{address: "{LOOPBACK}:{closed}", community: dialtone-ro, retries: 0}}}}
{extra}"""


def prometheus_yaml(listen: int, rules: list[Path], alertmanager: str) -> str:
    """The shipped jobs' shape: the agent, a dead second agent, and the /probe job (never double counted)."""
    rule_files = "".join(f"\n  - {p}" for p in rules)
    return f"""
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}
rule_files:{rule_files}
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["{alertmanager}"]}}]}}]
scrape_configs:
  - job_name: dialtone
    static_configs: [{{targets: ["{LOOPBACK}:{listen}"]}}]
  - job_name: dialtone-agents
    static_configs: [{{targets: ["{LOOPBACK}:{free_port()}"]}}]
  - job_name: dialtone-probe
    metrics_path: /probe
    scrape_interval: 2s
    scrape_timeout: 1900ms
    static_configs: [{{targets: [core-a, split-b]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "{LOOPBACK}:{listen}"}}
"""


@asynccontextmanager
async def record_stack(
    tmp: Path,
    *,
    for_: str | None = None,
    extra: str = "",
    settings: str = "",
) -> AsyncIterator[RecordStack]:
    """Everything running; `for_` shortens every rule's `for:` (None: the shipped values). `extra` is more
    target lines; it may name {platform} and {snmpd}. `settings` are more top-level config lines."""
    status = dict.fromkeys(HTTP, 200) | {"split-b": 503}
    async with AsyncExitStack() as stack:
        (tmp / "snmpd").mkdir()
        snmpd = start_snmpd(tmp / "snmpd")
        stack.callback(snmpd.snmpd.stop)
        sipp = start_sipp("answer", tmp / "sipp", echo=True)
        stack.callback(sipp.stop)
        platform = start_platform(tmp / "platform", {DID: "1001"})
        stack.callback(platform.stop)
        carrier = start_carrier(tmp / "carrier", platform.port)
        stack.callback(carrier.stop)
        broker = Mosquitto(tmp / "mqtt").start()
        stack.callback(broker.stop)
        hook = await stack.enter_async_context(webhook_receiver())
        am = Alertmanager(tmp / "am", test_alertmanager_config(hook.url))
        await asyncio.to_thread(am.start)
        stack.push_async_callback(asyncio.to_thread, am.stop)
        port = await stack.enter_async_context(_targets(status))
        listen = free_port()
        peers: dict[str, Any] = {
            "mqtt": broker.port,
            "sipp": sipp.uri("100"),
            "carrier": carrier.uri(),
            "platform": platform.uri(),
            "snmpd": snmpd.snmpd.address,
            "traps": free_port(socket.SOCK_DGRAM),
        }
        cfg = tmp / "dialtone.yaml"
        cfg.write_text(agent_yaml(tmp, listen, port, peers, extra.format(**peers), settings))
        agent = Agent(load_config(cfg), config_path=cfg)
        await agent.start()
        stack.push_async_callback(agent.stop)
        rules = fast_rules(tmp / "rules", for_) if for_ else _shipped()
        prom = Prometheus(
            tmp / "prom",
            prometheus_yaml(listen, rules, f"{LOOPBACK}:{am.port}"),
            extra_args=["--rules.alert.resend-delay=1s"],
        )
        await asyncio.to_thread(prom.start)
        stack.push_async_callback(asyncio.to_thread, prom.stop)
        yield RecordStack(status, agent, cfg, prom, am, hook, peers["traps"], snmpd.snmpd, broker)


def _shipped() -> list[Path]:
    from tests.deploy.helpers import RULES

    return list(RULES)
