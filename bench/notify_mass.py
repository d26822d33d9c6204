"""10,000 e-mail subscribers notified of one incident while the agent probes: time to hand every mail to
SMTP (aiosmtpd on loopback, in its own process) and the scheduler's lateness meanwhile.

Goal (issue 20): scheduler lateness p99 under 50 ms during the send. The anchor is the same agent's lateness
over the 10 s before the incident. The relay stands for a remote mail server, so it runs at nice +10: on a
small shared machine its CPU would otherwise be charged to the agent's scheduling. The agent's own mail
sender is a child process at nice +10 too (agent.notify.mailproc), as in production.
`python bench/notify_mass.py [--subscribers N] [--targets N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.notify.outbox import NoticeOutbox
from agent.notify.subscribers import SubscriberStore
from agent.runtime.app import Agent
from agent.runtime.config import Config
from bench.common import Row, pid_cpu_seconds, report
from tests.peers.base import free_port


def smtp_server(port: int) -> None:
    """Child mode: a counting aiosmtpd relay; prints READY, then the count of distinct Message-IDs on SIGTERM."""
    from aiosmtpd.controller import Controller

    ids: set[bytes] = set()
    total = [0]

    class Counting:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            content: bytes = envelope.content  # type: ignore[attr-defined]
            head = content.split(b"\r\n\r\n", 1)[0]
            ids.update(line for line in head.split(b"\r\n") if line.lower().startswith(b"message-id:"))
            total[0] += 1
            return "250 OK"

    os.nice(10)
    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    signal.sigwait({signal.SIGTERM})
    controller.stop()
    print(json.dumps({"messages": total[0], "distinct": len(ids)}), flush=True)


def build_config(tmp: Path, targets: int, ports: list[int], smtp: int) -> Config:
    comps = [{"id": "core", "name": "Core call processing", "tier": "core"}]
    return Config.model_validate(
        {
            "vantage": "bench",
            "listen": f"127.0.0.1:{free_port()}",
            "history": {"path": str(tmp / "h.sqlite")},
            "components": comps,
            "targets": [
                {
                    "id": f"t{i}",
                    "component": "core",
                    "kind": "http",
                    "interval": 5,
                    "timeout": 2,
                    "http": {"url": f"http://127.0.0.1:{ports[i % len(ports)]}/t/{i}"},
                }
                for i in range(targets)
            ],
            "site": {
                "out": str(tmp / "site"),
                "incidents": str(tmp / "incidents"),
                "listen": f"127.0.0.1:{free_port()}",
                "base_url": "https://status.example.com/",
                "render_interval": 3600,
            },
            "notify": {
                "outbox": str(tmp / "notices.db"),
                "sender": "status@example.com",
                "smtp": {"host": "127.0.0.1", "port": smtp, "security": "none"},
                "subscriptions": {"database": str(tmp / "subscribers.db"), "public_url": "https://status.example.com/"},
            },
        }
    )


def seed(tmp: Path, subscribers: int, now: datetime) -> None:
    """Confirmed subscribers, written straight into the store's own schema (the form is not what is timed)."""
    SubscriberStore(tmp / "subscribers.db").close()
    NoticeOutbox(tmp / "notices.db", now - timedelta(hours=1)).close()
    db = sqlite3.connect(tmp / "subscribers.db")
    with db:
        db.executemany(
            "INSERT INTO subscribers (email, lang, components, confirmed, unsub_token, created) "
            "VALUES (?, ?, '[]', 1, ?, ?)",
            [
                (
                    f"user{i:05d}@customer{i % 97}.example",
                    "fr" if i % 3 == 0 else "en",
                    secrets.token_urlsafe(24),
                    now.isoformat(),
                )
                for i in range(subscribers)
            ],
        )
    db.close()
    (tmp / "incidents").mkdir()


def write_incident(tmp: Path, at: datetime) -> None:
    (tmp / "incidents" / "bench.md").write_text(
        f"---\ntitle: Calls failing to connect\ncomponents: [core]\nstatus: investigating\nimpact: critical\n"
        f"updates:\n  - at: {at.isoformat()}\n    status: investigating\n    body: Calls fail; we are on it.\n---\n"
    )


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)] if values else float("nan")


async def run(subscribers: int, targets: int) -> list[Row]:
    ports = [free_port() for _ in range(2)]
    web = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "targets_server.py"), *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    smtp_port = free_port()
    smtp = subprocess.Popen(
        [sys.executable, __file__, "--smtp-server", str(smtp_port)], stdout=subprocess.PIPE, text=True
    )
    assert web.stdout and web.stdout.readline().strip() == "READY"
    assert smtp.stdout and smtp.stdout.readline().strip() == "READY"
    tmp = Path(tempfile.mkdtemp(prefix="dialtone-notify-bench-"))
    seed(tmp, subscribers, datetime.now(UTC))
    agent = Agent(build_config(tmp, targets, ports, smtp_port))
    samples: list[tuple[float, float]] = []
    try:
        await agent.start()
        agent.scheduler.on_lateness = lambda s: samples.append((time.perf_counter(), s))
        await asyncio.sleep(12)  # every target probed twice: the baseline
        n = agent.notifier
        assert n is not None
        renderer = next(s for s in agent.sinks if type(s).__name__ == "SiteRenderer")
        base_end = t0 = time.perf_counter()
        write_incident(tmp, datetime.now(UTC))
        smtp_cpu0 = pid_cpu_seconds(smtp.pid)
        renderer.request_render()  # type: ignore[attr-defined]
        while n.queued == 0:
            await asyncio.sleep(0.01)
        queued = time.perf_counter() - t0
        while n.deliverer.sent["email"] < subscribers:
            await asyncio.sleep(0.05)
        handed = time.perf_counter() - t0
        smtp_cpu = pid_cpu_seconds(smtp.pid) - smtp_cpu0
        await asyncio.sleep(1)
    finally:
        await agent.stop()
        web.terminate()
        smtp.send_signal(signal.SIGTERM)
        got = json.loads(smtp.communicate(timeout=30)[0].strip().splitlines()[-1])
        web.wait(5)
    during = [s for at, s in samples if t0 <= at <= t0 + handed]
    before = [s for at, s in samples if base_end - 10 <= at < base_end]
    ok = p99(during) < 0.05
    return [
        Row("subscribers notified of one incident", f"{subscribers:,}", goal="10,000"),
        Row(
            "mails accepted by the relay (distinct Message-IDs)",
            f"{got['messages']:,} ({got['distinct']:,})",
            goal=f"{subscribers:,} ({subscribers:,})",
            met=got["messages"] == got["distinct"] == subscribers,
        ),
        Row("notice committed with its deliveries (fan-out)", f"{queued:.2f} s"),
        Row(
            "time to hand every mail to SMTP",
            f"{handed:.1f} s ({subscribers / handed:,.0f} mails/s)",
            anchor=f"relay CPU {smtp_cpu:.1f} s",
        ),
        Row(
            "scheduler lateness p99 during the send",
            f"{p99(during) * 1000:.1f} ms ({len(during):,} probes)",
            anchor=f"before: {p99(before) * 1000:.1f} ms ({len(before):,})",
            goal="< 50 ms",
            met=ok,
        ),
        Row("probes meanwhile", f"{targets:,} targets every 5 s"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--targets", type=int, default=500)
    ap.add_argument("--smtp-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smtp_server:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        smtp_server(args.smtp_server)
        return
    rows = asyncio.run(run(args.subscribers, args.targets))
    report(f"notify: {args.subscribers:,} subscribers, one incident", rows)


if __name__ == "__main__":
    main()
