"""Detection timeline: dialtone with the shipped rules beside blackbox_exporter with the alert a blackbox
user would write (`probe_success == 0`, `for: 1m`), in one run, on one real Prometheus and one real
Alertmanager (the shipped config, P1 route as shipped: group_wait 10s) and one webhook receiver.

    python bench/detection_timeline.py

Both probe the same local HTTP target every 5 s (dialtone's interval; Prometheus scrapes the agent and
blackbox's /probe every 5 s and evaluates every 5 s). Scenario 1: the target answers 503 until both have
paged, then 200 again; each row is seconds after the fault. Scenario 2: the target fails for exactly one
dialtone probe; neither may page within 90 s.

Goal (issue 15): dialtone's page no later than blackbox's, and no page for a single failed probe.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.model import ProbeResult, Transition
from agent.runtime.app import Agent
from agent.runtime.config import load_config
from bench.common import Row, report
from tests.deploy.helpers import RULES, test_alertmanager_config, webhook_receiver
from tests.deploy.stack import _targets
from tests.peers.alertmanager import Alertmanager
from tests.peers.base import LOOPBACK, PeerProcess, free_port, require_binary, tcp_listening
from tests.peers.prometheus import Prometheus

BLACKBOX_RULE = """groups:
  - name: blackbox-user
    rules:
      - alert: BlackboxProbeFailed
        expr: probe_success{job="blackbox"} == 0
        for: 1m
        labels: {severity: page, priority: P1, scope: service, component: svc-blackbox}
        annotations: {summary: blackbox probe failed}
"""


class Clock:
    """Instants of each event, in seconds after a fault."""

    def __init__(self) -> None:
        self.events: dict[str, float] = {}
        self.fault = 0.0

    def mark(self, name: str) -> None:
        """Record `name` once, now."""
        self.events.setdefault(name, time.monotonic() - self.fault)


class Stamped(list[tuple[str, dict[str, Any]]]):
    """The webhook's list of received alerts, each also kept with its arrival time after the fault."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.times: list[tuple[float, tuple[str, dict[str, Any]]]] = []

    def append(self, item: tuple[str, dict[str, Any]]) -> None:
        self.times.append((time.monotonic() - self.clock.fault, item))
        super().append(item)


class Recorder:
    """A sink on the agent: the first failed result and the confirmation, as they happen."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.on_failure: Callable[[], None] | None = None

    def on_result(self, result: ProbeResult) -> None:
        if not result.ok:
            self.clock.mark("dialtone: failed probe result")
            if self.on_failure is not None:
                self.on_failure()

    def on_transition(self, t: Transition) -> None:
        if t.subject == "target" and t.new == "down":
            self.clock.mark("dialtone: confirmed down")

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def agent_config(tmp: Path, listen: int, port: int) -> Path:
    path = tmp / "dialtone.yaml"
    path.write_text(f"""
vantage: bench
listen: {LOOPBACK}:{listen}
thresholds: {{failures: 2, successes: 1}}
history: {{path: {tmp / "history.sqlite"}, batch_interval: 100ms}}
site: {{out: {tmp / "site"}, listen: "{LOOPBACK}:{free_port()}", render_interval: 60s, languages: [en]}}
components:
  - {{id: svc, name: Service, tier: voice_messaging}}
targets:
  - {{id: svc-health, component: svc, kind: http, interval: 5s, timeout: 2s,
      http: {{url: "http://{LOOPBACK}:{port}/svc", valid_status_codes: [200]}}}}
""")
    return path


def prometheus_config(listen: int, bb: int, port: int, rules: list[Path], am: int) -> str:
    files = "".join(f"\n  - {p}" for p in rules)
    return f"""
global: {{scrape_interval: 5s, scrape_timeout: 4s, evaluation_interval: 5s}}
rule_files:{files}
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["{LOOPBACK}:{am}"]}}]}}]
scrape_configs:
  - job_name: dialtone
    static_configs: [{{targets: ["{LOOPBACK}:{listen}"]}}]
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs: [{{targets: ["http://{LOOPBACK}:{port}/svc"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{target_label: __address__, replacement: "{LOOPBACK}:{bb}"}}
"""


def am_config(hook: str) -> str:
    """The shipped config with the webhook here, resolved notices on, the P1 route's 10 s group_wait kept."""
    config = yaml.safe_load(test_alertmanager_config(hook, group_wait="10s"))
    for receiver in config["receivers"]:
        for h in receiver.get("webhook_configs", []):
            h["send_resolved"] = True
    return yaml.safe_dump(config, sort_keys=False)


async def watch(prom: Prometheus, clock: Clock, status: dict[str, int], site: Path, stop: asyncio.Event) -> None:
    """Poll Prometheus (and the page's JSON) every 0.2 s and mark each first sighting."""
    queries = {
        "dialtone: probe_success 0 in Prometheus": 'probe_success{job="dialtone"} == 0',
        "blackbox: probe_success 0 in Prometheus": 'probe_success{job="blackbox"} == 0',
        "dialtone: alert firing": 'ALERTS{alertname="ComponentMajorOutage",alertstate="firing"}',
        "blackbox: alert firing": 'ALERTS{alertname="BlackboxProbeFailed",alertstate="firing"}',
    }
    while not stop.is_set():
        for name, q in queries.items():
            if name not in clock.events and len(await asyncio.to_thread(prom.query, q)) > 0:
                clock.mark(name)
        for path in site.rglob("components.json"):
            try:
                doc = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if any(c.get("status") == "major_outage" for c in doc.get("components", [])):
                clock.mark("dialtone: page JSON shows major_outage")
        await asyncio.sleep(0.2)


def pages(hook: Any, status: str, since: int = 0) -> dict[str, float]:
    """alertname -> first arrival at the pager with this status."""
    out: dict[str, float] = {}
    for t, (r, a) in hook.received.times[since:]:
        if r == "pager" and a["status"] == status:
            out.setdefault(a["labels"]["alertname"], t)
    return out


async def scenario(tmp: Path) -> tuple[Clock, dict[str, Any]]:
    status = {"svc": 200}
    clock = Clock()
    async with _targets(status) as port, webhook_receiver() as hook:
        hook.received = Stamped(clock)
        am = Alertmanager(tmp / "am", am_config(hook.url))
        await asyncio.to_thread(am.start)
        bb_port = free_port()
        (tmp / "blackbox.yml").write_text("modules:\n  http_2xx: {prober: http, timeout: 2s}\n")
        argv = [
            require_binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"),
            f"--config.file={tmp / 'blackbox.yml'}",
            f"--web.listen-address={LOOPBACK}:{bb_port}",
        ]
        (tmp / "rules").mkdir()
        (tmp / "rules/blackbox.yml").write_text(BLACKBOX_RULE)
        listen = free_port()
        cfg = agent_config(tmp, listen, port)
        agent = Agent(load_config(cfg), config_path=cfg)
        recorder = Recorder(clock)
        agent.sinks.append(recorder)
        with PeerProcess(argv, name="blackbox") as bb:
            bb.start(tmp)
            bb.wait_ready(lambda: tcp_listening(bb_port))
            await agent.start()
            rules = [*RULES, tmp / "rules/blackbox.yml"]
            prom = Prometheus(tmp / "prom", prometheus_config(listen, bb_port, port, rules, am.port))
            await asyncio.to_thread(prom.start)
            try:
                out = await _run(prom, agent, recorder, clock, status, hook, tmp / "site")
            finally:
                await asyncio.to_thread(prom.stop)
                await agent.stop()
                await asyncio.to_thread(am.stop)
    return clock, out


async def _run(
    prom: Prometheus, agent: Agent, recorder: Recorder, clock: Clock, status: dict[str, int], hook: Any, site: Path
) -> dict[str, Any]:
    up = 'probe_success{job="dialtone"} == 1 and on () probe_success{job="blackbox"} == 1'
    while not await asyncio.to_thread(prom.query, up):
        await asyncio.sleep(0.5)
    await asyncio.sleep(12)  # a few good scrapes and evaluations
    stop = asyncio.Event()
    clock.fault = time.monotonic()
    status["svc"] = 503
    watcher = asyncio.create_task(watch(prom, clock, status, site, stop))
    deadline = time.monotonic() + 180
    while len(pages(hook, "firing")) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(5)
    clock.mark("recovery (target answers 200)")
    status["svc"] = 200
    deadline = time.monotonic() + 120
    while len(pages(hook, "resolved")) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stop.set()
    await watcher
    firing, resolved = pages(hook, "firing"), pages(hook, "resolved")
    # Scenario 2: one failed probe. Wait until every alert is gone, then fail exactly one dialtone probe.
    while await asyncio.to_thread(prom.query, 'ALERTS{alertname=~"ComponentMajorOutage|BlackboxProbeFailed"}'):
        await asyncio.sleep(1)
    before = len(hook.received.times)
    single = Clock()
    single.fault = time.monotonic()

    def back_up() -> None:
        status["svc"] = 200
        recorder.on_failure = None

    recorder.clock, recorder.on_failure = single, back_up
    status["svc"] = 503
    await asyncio.sleep(90)
    blip_pages = sorted(pages(hook, "firing", before))
    blip_bb = bool(await asyncio.to_thread(prom.query, 'max_over_time(probe_success{job="blackbox"}[95s]) == 0'))
    return {
        "firing": firing,
        "resolved": resolved,
        "blip_pages": blip_pages,
        "blip_bb_saw": blip_bb,
        "blip_dialtone_failed": "dialtone: failed probe result" in single.events,
    }


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        clock, out = await scenario(Path(d))
    e, firing, resolved = clock.events, out["firing"], out["resolved"]
    rec = e.get("recovery (target answers 200)", 0.0)
    lines = [
        ("fault (target answers 503)", 0.0, 0.0),
        ("first failed probe (dialtone result)", e.get("dialtone: failed probe result"), None),
        (
            "probe_success 0 in Prometheus",
            e.get("dialtone: probe_success 0 in Prometheus"),
            e.get("blackbox: probe_success 0 in Prometheus"),
        ),
        ("confirmed down (agent state)", e.get("dialtone: confirmed down"), None),
        ("page JSON shows major_outage", e.get("dialtone: page JSON shows major_outage"), None),
        ("alert firing in Prometheus", e.get("dialtone: alert firing"), e.get("blackbox: alert firing")),
        ("webhook received (page)", firing.get("ComponentMajorOutage"), firing.get("BlackboxProbeFailed")),
        ("recovery (target answers 200)", rec, rec),
        ("resolved notice received", resolved.get("ComponentMajorOutage"), resolved.get("BlackboxProbeFailed")),
    ]
    print(
        "\nDetection timeline (seconds after the fault; dialtone: shipped rules, blackbox: probe_success == 0 "
        "for 1m; 5 s probe/scrape/evaluation, Alertmanager P1 group_wait 10 s)"
    )
    print(f"{'event':40} {'dialtone':>10} {'blackbox':>10}")
    for name, ours, theirs in lines:
        print(f"{name:40} {fmt(ours):>10} {fmt(theirs):>10}")
    print(
        f"single failed probe: dialtone failed once={out['blip_dialtone_failed']}, blackbox saw a 0="
        f"{out['blip_bb_saw']}, pages within 90 s: {out['blip_pages'] or 'none'}"
    )
    ours, theirs = firing.get("ComponentMajorOutage"), firing.get("BlackboxProbeFailed")
    report(
        "Detection timeline vs blackbox_exporter (for: 1m)",
        [
            Row(
                "page after the fault (webhook)",
                fmt(ours),
                f"{fmt(theirs)} (blackbox)",
                f"{ours / theirs:.2f}" if ours and theirs else "-",
                "<= blackbox's",
                ours is not None and theirs is not None and ours <= theirs,
            ),
            Row(
                "resolved notice after recovery",
                fmt(resolved["ComponentMajorOutage"] - rec) if "ComponentMajorOutage" in resolved else "-",
                fmt(resolved["BlackboxProbeFailed"] - rec) if "BlackboxProbeFailed" in resolved else "-",
            ),
            Row("pages for one failed probe", str(len(out["blip_pages"])), "-", "-", "0", not out["blip_pages"]),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
