"""PSTN loop calls at scale: N concurrent pstn_call probes, each placing a call through a carrier Kamailio to
a DID on a platform Kamailio and answering it itself, with `--seconds` of G.711 RTP each way and a DTMF token
exchange. The agent process is pinned to one core (the two Kamailios are started before, on any core).

Measured for dialtone (the whole run: REGISTER, INVITE, media, BYE, un-REGISTER):
- CPU share of the one core it runs on;
- worst jitter reading over every direction of every call. The path is loopback through two proxies that
  do not touch media, so any jitter measured is timing error that dialtone itself introduces.
Anchor: the same number of bare RtpSession pairs (bench/voice_rtp.py, media only, no SIP) in the same run.
Goals (issue 6): under 20 % of a core and under 1 ms of error at 20 concurrent calls.
Usage: .venv/bin/python bench/pstn_calls.py [--calls 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.model import ProbeResult, Target
from agent.probes import ProbeContext
from agent.probes.calls import CallCounters
from agent.probes.pstn.config import PstnCallConfig
from agent.probes.pstn.probe import PstnCallProbe
from bench.common import Row, machine, report, self_cpu_seconds
from bench.voice_rtp import run_dialtone
from tests.pstn.peers import TRUNK_PASSWORD, TRUNK_USER, extension_password, start_carrier, start_platform


def _probe(i: int, carrier: str, platform: str, seconds: float, context: ProbeContext) -> PstnCallProbe:
    ext, did = f"{2000 + i}", f"+1801555{2000 + i}"
    block = {
        "route": f"route-{i}", "number": did, "trunk": carrier, "username": TRUNK_USER, "password": TRUNK_PASSWORD,
        "from_number": "+18015559999", "duration": f"{seconds}s", "max_duration": f"{seconds + 5}s",
        "answer": {"registrar": platform, "extension": ext, "password": extension_password(ext)},
    }  # fmt: skip
    return PstnCallProbe(PstnCallConfig.model_validate(block), context)


async def run_calls(calls: int, seconds: float, carrier: str, platform: str) -> tuple[list[ProbeResult], float]:
    """Run the calls concurrently; (results, CPU share of one core over the run)."""
    context = ProbeContext(call_counters=CallCounters())  # the probes of one agent share its context
    probes = [_probe(i, carrier, platform, seconds, context) for i in range(calls)]
    targets = [Target(f"call-{i}", "voice", "pstn_call", seconds + 8) for i in range(calls)]
    w0, c0 = time.perf_counter(), self_cpu_seconds()
    results = await asyncio.gather(*(p.probe(t) for p, t in zip(probes, targets, strict=True)))
    return list(results), (self_cpu_seconds() - c0) / (time.perf_counter() - w0)


def main() -> None:
    """Start the peers, pin this process to one core, run the calls and the anchor, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dialtone-pstn-bench-") as tmp:
        dids = {f"+1801555{2000 + i}": f"{2000 + i}" for i in range(args.calls)}
        platform = start_platform(Path(tmp) / "platform", dids)
        carrier = start_carrier(Path(tmp) / "carrier", platform.port)
        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # after the peers: they keep every core
            results, share = asyncio.run(run_calls(args.calls, args.seconds, carrier.uri(), platform.uri()))
            anchor = asyncio.run(run_dialtone(args.calls, args.seconds))
        finally:
            carrier.stop()
            platform.stop()
    ok = sum(r.ok for r in results)
    jitters = [float(v) for r in results for k, v in r.values.items() if k.startswith("jitter_seconds_")]
    worst = max(jitters, default=float("nan"))
    errors = sorted({r.error for r in results if not r.ok})
    ms = 1000.0
    print(f"machine: {machine()}; calls ok: {ok}/{len(results)} {errors or ''}")
    report(
        f"pstn_call: {args.calls} concurrent loop calls, {args.seconds:g} s RTP each way, one core",
        [
            Row("calls completed ok", f"{ok}/{len(results)}", "-", "-", "all", ok == len(results)),
            Row("CPU share of one core", f"{share:.1%}", f"{anchor.cpu_share:.1%} (media only)",
                f"{share / anchor.cpu_share:.2f}" if anchor.cpu_share else "-", "< 20 %", share < 0.20),
            Row("worst jitter reading, clean path (ms)", f"{worst * ms:.3f}", f"{anchor.worst_jitter * ms:.3f}",
                f"{worst / anchor.worst_jitter:.2f}" if anchor.worst_jitter else "-", "< 1 ms", worst < 0.001),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
