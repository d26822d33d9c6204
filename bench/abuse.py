"""Abuse: the agent probing 200 HTTP targets every second, idle and then under 60 s of combined hostile input.

The agent runs in its own process as `dialtone run` runs it (uvloop, the log filter, basic auth from a web.yml,
the status page served), with one addition: every scheduler lateness and every transition is recorded with
its monotonic time and written out at exit, so lateness percentiles are exact, not histogram buckets. The
targets are bench/targets_server.py (its own process); the attackers are bench/abuse_attacks.py, one process
each, started together for the abuse phase:

- a wrong-password flood on /metrics (100 clients, the valid user, new passwords each time);
- 1,000 slowloris connections to the status page from 127.0.0.2-11;
- malformed requests on new connections at 5,000/s (the attacker reports what it managed to send);
- /probe hammering at 50 requests/s across the targets (over the rate limit on purpose).

Printed per phase: scheduler lateness p50/p99/max, false transitions (every target is healthy, so any
transition is false), failed probes, the agent's peak RSS and descriptors. Goals: lateness p99 under 50 ms
under abuse, 0 false transitions, RSS and descriptors bounded (under abuse at most 64 MiB and the connection
cap + 200 descriptors above idle). Bounded: about 2 minutes, then everything it started is stopped by PID.

    python bench/abuse.py [--idle 30] [--abuse 60] [--warmup 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import Row, open_fds, report, rss_bytes  # noqa: E402
from tests.peers.base import free_port, tcp_listening, wait_until  # noqa: E402

TARGETS = 200
USER = "prometheus"
PASSWORD = "bench-password"
CAP = 512


def _config(tmp: Path, target_ports: list[int], listen: int, site_port: int) -> Path:
    import bcrypt

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    (tmp / "web.yml").write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n")
    (tmp / "inc").mkdir()
    targets = "".join(
        f"  - {{id: t{i:03d}, component: c{i % 4}, kind: http, interval: 1s, timeout: 800ms,"
        f" http: {{url: 'http://127.0.0.1:{target_ports[i % len(target_ports)]}/t{i}'}}}}\n"
        for i in range(TARGETS)
    )
    path = tmp / "dialtone.yaml"
    path.write_text(
        f"""vantage: bench
listen: 127.0.0.1:{listen}
history: {{path: {tmp / "h.sqlite"}}}
web: {{config_file: {tmp / "web.yml"}, max_connections: {CAP}}}
site: {{out: {tmp / "site"}, listen: 127.0.0.1:{site_port}, incidents: {tmp / "inc"}, render_interval: 60s}}
components:
"""
        + "".join(f"  - {{id: c{i}, name: C{i}, tier: supporting}}\n" for i in range(4))
        + "targets:\n"
        + targets
    )
    return path


def serve(config: str, out: str) -> None:
    """Child mode: run the agent like `dialtone run`, recording lateness and transitions, until SIGTERM."""
    import asyncio

    import uvloop

    from agent.cli.commands._common import setup_logging
    from agent.runtime.app import Agent
    from agent.runtime.config import load_config

    setup_logging("warning")
    late: list[tuple[float, float]] = []
    trans: list[tuple[float, str]] = []

    async def run() -> None:
        agent = Agent(load_config(config), config_path=Path(config))
        observe = agent.scheduler.on_lateness

        def record(seconds: float) -> None:
            late.append((time.monotonic(), seconds))
            observe(seconds)

        agent.scheduler.on_lateness = record
        agent.transition_hooks.append(lambda t: trans.append((time.monotonic(), f"{t.id} {t.old}->{t.new}")))
        await agent.start()
        try:
            await agent.run()
        finally:
            fails = agent.registry.get_sample_value("dialtone_probes_total", {"kind": "http", "result": "failure"})
            await agent.stop()
            Path(out).write_text(json.dumps({"late": late, "transitions": trans, "failures": fails or 0}))

    uvloop.install()
    asyncio.run(run())


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _watch(pid: int, until: float) -> tuple[int, int]:
    """Peak RSS and descriptors of `pid` until the monotonic time `until`, sampled every 0.5 s."""
    rss = fds = 0
    while time.monotonic() < until:
        rss, fds = max(rss, rss_bytes(pid)), max(fds, open_fds(pid))
        time.sleep(0.5)
    return rss, fds


def _phase(name: str, data: dict[str, object], t0: float, t1: float, rss: int, fds: int) -> dict[str, float]:
    late = [s for t, s in data["late"] if t0 <= t < t1]  # type: ignore[attr-defined]
    trans = [x for t, x in data["transitions"] if t0 <= t < t1]  # type: ignore[attr-defined]
    return {
        "probes": len(late),
        "p50": _percentile(late, 0.5),
        "p99": _percentile(late, 0.99),
        "max": max(late, default=float("nan")),
        "false": len(trans),
        "rss": rss / 2**20,
        "fds": fds,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--abuse", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="dialtone-abuse-"))
    ports, listen, site_port = [free_port() for _ in range(4)], free_port(), free_port()
    cfg, out = _config(tmp, ports, listen, site_port), tmp / "recorded.json"
    procs: list[subprocess.Popen[str]] = []
    try:
        server = subprocess.Popen(
            [sys.executable, str(HERE / "targets_server.py"), *map(str, ports)], stdout=subprocess.PIPE, text=True
        )
        procs.append(server)
        assert server.stdout and server.stdout.readline().strip() == "READY"
        log_file = open(tmp / "agent.log", "w")  # noqa: SIM115 - the agent writes to it until it exits
        agent = subprocess.Popen([sys.executable, __file__, "--serve", str(cfg), str(out)], text=True, stderr=log_file)
        procs.append(agent)
        wait_until(lambda: tcp_listening(listen), timeout=60, what="the agent")
        time.sleep(args.warmup)
        t_idle = time.monotonic()
        rss_idle, fds_idle = _watch(agent.pid, t_idle + args.idle)
        t_abuse = time.monotonic()
        attackers = [
            subprocess.Popen(
                [sys.executable, str(HERE / "abuse_attacks.py"), kind, str(port), str(args.abuse), arg],
                stdout=subprocess.PIPE,
                text=True,
            )
            for kind, port, arg in (
                ("login", listen, USER),
                ("slowloris", site_port, ""),
                ("malformed", listen, "5000"),
                ("probe", listen, USER),
            )
        ]
        procs += attackers
        rss_abuse, fds_abuse = _watch(agent.pid, t_abuse + args.abuse)
        t_end = time.monotonic()
        attacks = [json.loads(a.communicate(timeout=60)[0].strip().splitlines()[-1]) for a in attackers]
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
        data = json.loads(out.read_text())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    idle = _phase("idle", data, t_idle, t_abuse, rss_idle, fds_idle)
    abuse = _phase("abuse", data, t_abuse, t_end, rss_abuse, fds_abuse)
    for a in attacks:
        print("attacker:", json.dumps(a))
    log_lines = len((tmp / "agent.log").read_text(errors="replace").splitlines())
    print(
        f"failed probes over the whole run: {data['failures']:.0f}; agent log: {tmp / 'agent.log'} ({log_lines} lines)"
    )
    ms = 1000.0
    report(
        f"Abuse: {TARGETS} HTTP targets at 1 s, idle {args.idle:g} s then {args.abuse:g} s of combined abuse",
        [
            Row(
                "probes run (idle / abuse)",
                f"{idle['probes']:.0f} / {abuse['probes']:.0f}",
                "-",
                "-",
                f"about {TARGETS:.0f}/s",
            ),
            Row("lateness p50 idle / abuse", f"{idle['p50'] * ms:.1f} / {abuse['p50'] * ms:.1f} ms"),
            Row("lateness p99 idle", f"{idle['p99'] * ms:.1f} ms"),
            Row(
                "lateness p99 under abuse",
                f"{abuse['p99'] * ms:.1f} ms",
                f"idle {idle['p99'] * ms:.1f} ms",
                "-",
                "< 50 ms",
                abuse["p99"] < 0.05,
            ),
            Row("lateness max idle / abuse", f"{idle['max'] * ms:.0f} / {abuse['max'] * ms:.0f} ms"),
            Row(
                "false transitions (idle / abuse)",
                f"{idle['false']:.0f} / {abuse['false']:.0f}",
                "-",
                "-",
                "0",
                idle["false"] + abuse["false"] == 0,
            ),
            Row(
                "peak RSS idle / abuse",
                f"{idle['rss']:.0f} / {abuse['rss']:.0f} MiB",
                "-",
                "-",
                "+64 MiB at most",
                abuse["rss"] - idle["rss"] < 64,
            ),
            Row(
                "peak descriptors idle / abuse",
                f"{idle['fds']:.0f} / {abuse['fds']:.0f}",
                "-",
                "-",
                f"+{CAP + 200} at most",
                abuse["fds"] - idle["fds"] <= CAP + 200,
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(HERE.parent))
    sys.exit(main())
