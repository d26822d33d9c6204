"""The real agent SIGKILLed after the relay took a message but before the agent recorded it: after the
restart only that message arrives a second time, with the same Message-ID (the documented window)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from agent.notify.outbox import NoticeOutbox
from agent.notify.subscribers import SubscriberStore
from agent.runtime.config import load_config_text
from tests.notify.helpers import config_text, write_incident
from tests.peers.base import LOOPBACK, free_port
from tests.peers.smtp import SmtpServer

SUBSCRIBERS = [f"s{i:02d}@customers.example" for i in range(10)]
KILL_AT = 5


def _agent(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "-c", str(cfg)], stdout=subprocess.DEVNULL, stderr=log.open("ab")
    )


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigkill_between_send_and_commit_resends_only_the_message_in_flight(tmp_path: Path) -> None:
    smtp = SmtpServer().start()
    text = config_text(
        tmp_path, smtp.port, top=f"listen: {LOOPBACK}:{free_port()}\n", site=f", listen: '{LOOPBACK}:{free_port()}'"
    )
    cfg_path = tmp_path / "dialtone.yaml"
    cfg_path.write_text(text)
    cfg = load_config_text(text)
    assert cfg.notify is not None and cfg.notify.subscriptions is not None
    now = datetime.now(UTC)
    NoticeOutbox(cfg.notify.outbox, now - timedelta(hours=2)).close()
    store = SubscriberStore(cfg.notify.subscriptions.database)
    for address in SUBSCRIBERS:
        assert store.confirm(store.request(address, "en", [], now, 3600), now) is not None
    store.close()
    write_incident(tmp_path / "incidents", "one", now - timedelta(minutes=30), steps=1, postmortem=False)
    log = tmp_path / "agent.log"
    proc = _agent(cfg_path, log)
    killed: list[str] = []

    def kill_in_data(msg: EmailMessage) -> None:
        # Inside DATA, before the 250: the message is here, the agent has not heard it was accepted.
        if len(smtp.messages) == KILL_AT and not killed:
            killed.append(str(msg["Message-ID"]))
            os.kill(proc.pid, signal.SIGKILL)

    smtp.on_data = kill_in_data
    try:
        _wait(lambda: proc.poll() is not None, 60, "the agent to be killed")
        assert proc.returncode == -signal.SIGKILL
        assert len(smtp.messages) == KILL_AT
        smtp.on_data = None
        proc = _agent(cfg_path, log)
        _wait(lambda: len({str(m["To"]) for m in smtp.messages}) == len(SUBSCRIBERS), 60, "every subscriber")
        time.sleep(1.0)  # anything more would arrive now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        smtp.stop()
    counts = Counter(smtp.ids())
    assert len(counts) == len(SUBSCRIBERS), log.read_text()[-3000:]
    assert {i for i, c in counts.items() if c > 1} == set(killed)  # only the message in flight, once more
    assert counts[killed[0]] == 2
    # `dialtone notices list` shows it sent to all ten, and the standard window's notices still to come.
    out = subprocess.run(
        [sys.executable, "-m", "agent", "notices", "list", "-c", str(cfg_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    listed = json.loads(out.stdout)
    assert [(r["kind"], r["sent"], r["pending"]) for r in listed["outbox"]] == [("incident.opened", 10, 0)]
    upcoming = [u for u in listed["upcoming"] if u["kind"] == "maintenance.scheduled"]
    assert upcoming and all(u["id"].startswith("mnt-standard-") for u in upcoming)
    first = datetime.fromisoformat(upcoming[0]["due"])
    start = datetime.strptime(upcoming[0]["id"].split("-")[2], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    assert start - first == timedelta(days=7)
