"""RTP media at PSTN-bench scale: N concurrent call pairs on loopback, each sending 20 ms G.711 both ways.

Both legs of every pair live in this process, as they do when the agent places a loop call and answers it.
Each side also sends a 4-digit DTMF token (in-band and RFC 4733) that the other side must detect.

Measured, for dialtone's RtpSession and, in the same run, for an anchor: the naive asyncio sender
(`sendto` then `await asyncio.sleep(0.02)`, one task per stream) that the pacer replaces:
- CPU share of one core while the media flows;
- worst send-time error: how late a packet left against its nominal 20 ms slot;
- worst jitter reading on a clean loopback path, i.e. the timing error our own process adds to RFC 3550 jitter.

Goals (issue 6): under 20 % of a core and under 1 ms of error at 20 concurrent calls.
Usage: .venv/bin/python bench/voice_rtp.py [--pairs 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.voice import RtpSession
from agent.voice.g711 import silence
from agent.voice.rtp import build_rtp, parse_rtp
from agent.voice.stats import ReceiveStats
from bench.common import Row, Stopwatch, machine, report

LOOPBACK = "127.0.0.1"


@dataclass
class Figures:
    """What one run measured."""

    cpu_share: float
    worst_send_error: float
    send_error_p99: float
    worst_jitter: float
    packets: int
    digits_ok: int


async def _open_pair() -> tuple[RtpSession, RtpSession]:
    a, b = RtpSession(LOOPBACK), RtpSession(LOOPBACK)
    await a.open()
    await b.open()
    a.set_remote(LOOPBACK, b.local_port)
    b.set_remote(LOOPBACK, a.local_port)
    return a, b


async def _dialtone_pair(
    a: RtpSession, b: RtpSession, seconds: float, rng: random.Random
) -> tuple[float, float, int, bool, float]:
    a.start_sending()
    b.start_sending()
    tokens = ["".join(rng.choice("0123456789") for _ in range(4)) for _ in range(2)]
    await asyncio.gather(a.send_dtmf(tokens[0]), b.send_dtmf(tokens[1]))
    await asyncio.sleep(seconds - 0.8)
    a.stop_sending()
    b.stop_sending()
    await asyncio.sleep(0.05)
    sa, sb = a.stats(), b.stats()
    ok = b.received_digits == tokens[0] and a.received_digits == tokens[1]
    await a.close()
    await b.close()
    send_error = max(sa.send_error_max_seconds, sb.send_error_max_seconds)
    p99 = max(sa.send_error_p99_seconds, sb.send_error_p99_seconds)
    return send_error, max(sa.jitter_seconds, sb.jitter_seconds), sa.packets_received + sb.packets_received, ok, p99


async def run_dialtone(pairs: int, seconds: float) -> Figures:
    """N RtpSession pairs for `seconds`."""
    rng = random.Random(1)
    with Stopwatch() as sw:
        # Set every call up first, as calls placed over time would be, then run the media together.
        opened = [await _open_pair() for _ in range(pairs)]
        results = await asyncio.gather(*(_dialtone_pair(a, b, seconds, rng) for a, b in opened))
    return Figures(
        cpu_share=sw.cpu / sw.wall,
        worst_send_error=max(r[0] for r in results),
        send_error_p99=max(r[4] for r in results),
        worst_jitter=max(r[1] for r in results),
        packets=sum(r[2] for r in results),
        digits_ok=sum(r[3] for r in results),
    )


class _NaiveEnd(asyncio.DatagramProtocol):
    """The anchor: a stream sent with sleep(0.02) per packet, received into the same RFC 3550 statistics."""

    def __init__(self) -> None:
        self.stats = ReceiveStats()
        self.transport: asyncio.DatagramTransport | None = None
        self.worst_error = 0.0
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        packet = parse_rtp(data)
        self.received += 1
        self.stats.update(packet.sequence, packet.timestamp, time.monotonic())

    async def send(self, dest: tuple[str, int], seconds: float) -> None:
        assert self.transport is not None
        frame, start = silence("pcmu"), time.monotonic()
        for n in range(int(seconds / 0.02)):
            self.worst_error = max(self.worst_error, time.monotonic() - (start + 0.02 * n))
            self.transport.sendto(build_rtp(0, n, 160 * n, 1234, frame), dest)
            await asyncio.sleep(0.02)


async def _naive_pair(seconds: float) -> tuple[float, float, int]:
    loop = asyncio.get_running_loop()
    ends = []
    for _ in range(2):
        _, end = await loop.create_datagram_endpoint(_NaiveEnd, local_addr=(LOOPBACK, 0), family=socket.AF_INET)
        ends.append(end)
    a, b = ends
    assert a.transport is not None and b.transport is not None
    addr_a, addr_b = a.transport.get_extra_info("sockname"), b.transport.get_extra_info("sockname")
    await asyncio.gather(a.send(addr_b, seconds), b.send(addr_a, seconds))
    await asyncio.sleep(0.05)
    a.transport.close()
    b.transport.close()
    jitter = max(a.stats.snapshot().jitter_seconds, b.stats.snapshot().jitter_seconds)
    return max(a.worst_error, b.worst_error), jitter, a.received + b.received


async def run_naive(pairs: int, seconds: float) -> Figures:
    """The anchor: N naive pairs for `seconds`."""
    with Stopwatch() as sw:
        results = await asyncio.gather(*(_naive_pair(seconds) for _ in range(pairs)))
    return Figures(
        cpu_share=sw.cpu / sw.wall,
        worst_send_error=max(r[0] for r in results),
        send_error_p99=float("nan"),
        worst_jitter=max(r[1] for r in results),
        packets=sum(r[2] for r in results),
        digits_ok=0,
    )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}x" if b > 0 else "-"


def main() -> None:
    """Run both, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20, help="concurrent call pairs (default 20)")
    parser.add_argument("--seconds", type=float, default=5.0, help="media seconds each way (default 5)")
    args = parser.parse_args()
    if args.seconds < 1.5 or args.pairs < 1:
        parser.error("--seconds must be at least 1.5 and --pairs at least 1")
    ours = asyncio.run(run_dialtone(args.pairs, args.seconds))
    naive = asyncio.run(run_naive(args.pairs, args.seconds))
    print(f"machine: {machine()}")
    print(
        f"{args.pairs} pairs x {args.seconds:g} s each way; packets received: dialtone {ours.packets}, "
        f"anchor {naive.packets}; DTMF tokens detected both ways: {ours.digits_ok}/{args.pairs}"
    )
    ms = 1000.0
    report(
        f"voice RTP: {args.pairs} concurrent calls (anchor: naive asyncio.sleep(0.02) sender)",
        [
            Row(
                "CPU share of one core",
                f"{ours.cpu_share:.1%}",
                f"{naive.cpu_share:.1%}",
                _ratio(ours.cpu_share, naive.cpu_share),
                "< 20 %",
                ours.cpu_share < 0.20,
            ),
            Row(
                "worst send-time error (ms)",
                f"{ours.worst_send_error * ms:.3f}",
                f"{naive.worst_send_error * ms:.3f}",
                _ratio(ours.worst_send_error, naive.worst_send_error),
                "< 1 ms",
                ours.worst_send_error < 0.001,
            ),
            Row(
                "send-time error p99, worst stream (ms)",
                f"{ours.send_error_p99 * ms:.1f}",
                "-",
                "-",
                "< 1 ms",
                ours.send_error_p99 < 0.001,
            ),
            Row(
                "worst jitter reading, clean loopback (ms)",
                f"{ours.worst_jitter * ms:.3f}",
                f"{naive.worst_jitter * ms:.3f}",
                _ratio(ours.worst_jitter, naive.worst_jitter),
                "< 1 ms",
                ours.worst_jitter < 0.001,
            ),
        ],
    )


if __name__ == "__main__":
    main()
