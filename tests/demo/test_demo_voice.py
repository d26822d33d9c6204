"""The shipped config's voice targets against the demo SIP platform, in the real agent process.

The agent runs `dialtone run` on the shipped config (moved to free ports, the voice targets probing more
often, the demo's fault spells brought forward). Its own history says what each probe found: all good at
first, then every call refused with 503 (the loop is `unavailable`, the echo call an `error_response`), then
one-way audio on the echo extension (the loop, whose media does not cross the platform, stays good).
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.demo.shipped import ROOT, shipped_config
from tests.peers.base import tcp_listening, wait_until

pytestmark = pytest.mark.peer

CALLS_503 = (22.0, 36.0)
ONE_WAY = (40.0, 54.0)
RUN_FOR = 57.0
MARGIN = 1.5
"""Results this close to a spell's edge may fall either side of it: they are not judged."""
VOICE = ("sip-options", "sip-register-1002", "echo-call", "did-loop")


def _results(db: Path) -> list[tuple[str, float, float, bool, str, dict[str, object]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.target, r.started_ms, r.duration_us, r.ok, r.error, r.data FROM results r"
            " JOIN series s ON s.id = r.series ORDER BY r.started_ms"
        ).fetchall()
    return [(t, ms / 1000, us / 1e6, bool(ok), err or "", json.loads(data or "{}").get("v", {}))
            for t, ms, us, ok, err, data in rows]  # fmt: skip


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        body: bytes = r.read()  # urlopen's response is typed Any
        return body.decode()


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample of `name` carrying `labels` in an exposition text."""
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")
             and all(f'{k}="{v}"' in line for k, v in labels.items())]  # fmt: skip
    assert len(found) == 1, (name, labels, found)
    return found[0]


def _phase(at: float, until: float) -> str:
    """The spell a probe ran in from `at` to `until` (seconds after start-up): a call spans seconds."""
    for name, (start, end) in (("calls_503", CALLS_503), ("one_way", ONE_WAY)):
        if start + MARGIN <= at and until <= end - MARGIN:
            return name
        if at < end + MARGIN and until > start - MARGIN:
            return "edge"
    return "good"


def test_shipped_voice_targets_and_demo_faults(tmp_path):
    demo = {
        "calls_unavailable_after": f"{CALLS_503[0]}s", "calls_unavailable_length": f"{CALLS_503[1] - CALLS_503[0]}s",
        "one_way_audio_after": f"{ONE_WAY[0]}s", "one_way_audio_length": f"{ONE_WAY[1] - ONE_WAY[0]}s",
    }  # fmt: skip
    intervals = {"sip-options": "3s", "sip-register-1002": "5s", "echo-call": "8s", "did-loop": "12s"}
    path, ports = shipped_config(tmp_path, demo, intervals, voice_only=True)
    log = (tmp_path / "agent.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "-c", str(path)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: tcp_listening(ports["listen"]), timeout=60, what="the agent's /metrics")
        started = time.time()  # the demo's schedule starts with the agent, a few ms before /metrics listens
        time.sleep(CALLS_503[0] - 1)
        metrics = _scrape(ports["listen"])
        time.sleep(RUN_FOR - (time.time() - started))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, (tmp_path / "agent.log").read_text()
        log.close()
    seen: dict[tuple[str, str], list[tuple[bool, str, dict[str, object]]]] = {}
    for target, at, duration, ok, error, values in _results(tmp_path / "dialtone.sqlite"):
        seen.setdefault((target, _phase(at - started, at + duration - started)), []).append((ok, error, values))
    report = {k: [(ok, err) for ok, err, _ in v] for k, v in seen.items()}
    for target in VOICE:
        good = seen.get((target, "good"), [])
        assert good and all(ok for ok, _, _ in good), (target, report)
    echo_good = seen[("echo-call", "good")]
    assert all(float(v["mos"]) > 4.0 and 0 < float(v["post_dial_delay_seconds"]) < 1 for _, _, v in echo_good)  # type: ignore[arg-type]
    loop_good = seen[("did-loop", "good")]
    assert all(v["result"] == "answered" and v["answer_leg_invited"] is True for _, _, v in loop_good)
    # 503s to every INVITE: the calls fail with the status and its Retry-After, OPTIONS and REGISTER do not.
    for target, error in (("echo-call", "error_response"), ("did-loop", "unavailable")):
        spell = seen.get((target, "calls_503"), [])
        assert spell and all((ok, err) == (False, error) for ok, err, _ in spell), (target, report)
        assert all(v["status_code"] == 503 and v["retry_after"] == 120 for _, _, v in spell), spell
    assert all(ok for ok, _, _ in seen[("sip-options", "calls_503")] + seen[("sip-register-1002", "calls_503")])
    # One-way audio: the echo call hears the platform but none of its own audio comes back.
    spell = seen.get(("echo-call", "one_way"), [])
    assert spell and all((ok, err) == (False, "one_way_audio") for ok, err, _ in spell), report
    assert all(ok for ok, _, _ in seen.get(("did-loop", "one_way"), [])), report
    # Before the first fault /metrics carries the calls' quality: the Voice quality dashboard's data.
    assert _sample(metrics, "probe_voice_mos", target="echo-call") > 4.0
    assert 0 < _sample(metrics, "probe_sip_post_dial_delay_seconds", target="echo-call") < 1
    for direction in ("a_to_b", "b_to_a"):
        assert _sample(metrics, "probe_voice_mos", target="did-loop", direction=direction) > 4.0
    assert _sample(metrics, "probe_success", target="sip-register-1002") == 1
    # The console (what `make run` prints) shows every call: its figures, or its failure.
    console = (tmp_path / "agent.log").read_text()
    assert re.search(r"dialtone\.demo: sip_call echo-call: answered, PDD \d+ ms, answer \d+ ms, MOS 4\.\d+", console)
    assert re.search(r"dialtone\.demo: pstn_call did-loop: answered, .* a->b MOS 4\.\d+ .* b->a MOS 4\.\d+", console)
    assert "dialtone.demo: pstn_call did-loop: unavailable: " in console
    assert "dialtone.demo: sip_call echo-call: one_way_audio: " in console
