"""The CPU cost of the demo SIP platform that `make run` starts, under the shipped config's voice targets.

The platform (agent/runtime/demo_sip.py) runs alone in a child process of this script, so its CPU time is its own.
The real agent (`python -m agent run`) probes it with the voice targets of config/dialtone.yaml at their
shipped intervals (OPTIONS every 15 s, REGISTER every 60 s, an echo call every 30 s, a PSTN loop every 60 s)
for `--seconds`. Measured: the platform's CPU share of one core over the run (goal, issue 18: under 5 %), and
for context the agent's own share. A second run calls the echo back to back (`--busy`) for the cost per call.

Usage: .venv/bin/python bench/demo_platform.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, pid_cpu_seconds, report  # noqa: E402

LOOPBACK = "127.0.0.1"
VOICE = {"sip_options", "sip_register", "sip_call", "pstn_call"}


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


async def _serve(port: int) -> None:
    from agent.core.clock import SystemClock
    from agent.runtime.config import DemoConfig
    from agent.runtime.demo import start_sip

    platform = await start_sip(DemoConfig(sip_port=port), SystemClock())
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    platform.close()


def _agent_config(work: Path, sip_port: int, intervals: dict[str, str] | None) -> Path:
    """The shipped config's voice targets, pointed at `sip_port`; no demo services of the agent's own."""
    text = (ROOT / "config" / "dialtone.yaml").read_text().replace(f"{LOOPBACK}:9471", f"{LOOPBACK}:{sip_port}")
    shipped = yaml.safe_load(text)
    targets = [t for t in shipped["targets"] if t["kind"] in VOICE]
    for t in targets:
        t["interval"] = (intervals or {}).get(t["id"], t["interval"])
    cfg = {
        "listen": f"{LOOPBACK}:{_free_port()}", "history": {"path": str(work / "bench.sqlite")},
        "components": shipped["components"], "targets": targets,
    }  # fmt: skip
    path = work / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def measure(seconds: float, intervals: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(platform CPU share, agent CPU share, echo calls answered) over `seconds` of the agent probing."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = _free_port(socket.SOCK_DGRAM)
        platform = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT, stdout=subprocess.PIPE)
        agent: subprocess.Popen[bytes] | None = None
        try:
            assert platform.stdout is not None and platform.stdout.readline() == b"ready\n"  # imported and bound
            cpu0 = pid_cpu_seconds(platform.pid)
            argv = [sys.executable, "-m", "agent", "run", "-c", str(_agent_config(work, port, intervals))]
            agent = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            platform_cpu = pid_cpu_seconds(platform.pid) - cpu0
            agent_cpu = pid_cpu_seconds(agent.pid)
        finally:
            for proc in (agent, platform):
                if proc is not None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(10)
        with sqlite3.connect(work / "bench.sqlite") as conn:
            calls = conn.execute(
                "SELECT count(*) FROM results r JOIN series s ON s.id = r.series WHERE s.target = 'echo-call' AND r.ok"
            ).fetchone()[0]
    return platform_cpu / wall, agent_cpu / wall, int(calls)


def main() -> None:
    """Run both measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    if args.serve:
        import uvloop  # as `dialtone run` does

        uvloop.install()
        asyncio.run(_serve(args.serve))
        return
    share, agent_share, calls = measure(args.seconds)
    busy_seconds = min(args.seconds, 40.0)
    busy_share, _, busy_calls = measure(busy_seconds, {"echo-call": "8s", "did-loop": "12s", "sip-options": "3s"})
    per_call_ms = 1000 * busy_share * busy_seconds / max(busy_calls, 1)
    report("Demo SIP platform CPU (make run)", [
        Row(f"platform CPU, shipped voice targets, {args.seconds:.0f} s ({calls} echo calls)", f"{100 * share:.2f} %",
            anchor=f"agent {100 * agent_share:.1f} %", goal="< 5 % of a core", met=share < 0.05),
        Row(f"platform CPU, echo every 8 s, loop every 12 s, {busy_seconds:.0f} s ({busy_calls} echo calls)",
            f"{100 * busy_share:.2f} %", goal="-"),
        Row("platform CPU per 3 s echo call (busy run, all its traffic included)", f"{per_call_ms:.1f} ms"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
