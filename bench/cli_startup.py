"""CLI start-up: each quick `dialtone` command's median wall time and peak RSS beside `python -c pass`.

A command imports only what it uses (issue 19): `--help` registers every subcommand without importing its
work, and `check-config` validates without loading the SIP stack, voice, pysnmp, aiohttp or the page.
Goals: `--help` within 8x bare Python start-up, `check-config` of the shipped config within 12x.

Like with like: `python -c pass` loads only compiled standard-library modules, and an installed dialtone has
its bytecode too (pip compiles it). So each command first runs once untimed with bytecode writing allowed
(PYTHONDONTWRITEBYTECODE removed), and the timed runs load `.pyc` files from a warm page cache instead of
compiling the project's sources every time. `--no-warm-up` keeps the caller's environment and runs no
warm-up: in a checkout with PYTHONDONTWRITEBYTECODE=1 and no `__pycache__`, every run then also compiles
each project module the command imports.

Usage: .venv/bin/python bench/cli_startup.py [--runs N] [--no-warm-up]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, machine, report

ROOT = Path(__file__).resolve().parents[1]
AGENT = [sys.executable, "-m", "agent"]
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("dialtone --help", ["--help"], 8.0),
    ("dialtone check-config config/dialtone.yaml", ["check-config", "config/dialtone.yaml"], 12.0),
    ("dialtone schema", ["schema"], None),
    ("dialtone deadlines", ["deadlines", "--priority", "P1", "--opened", "2026-11-20T17:30-08:00"], None),
    ("dialtone maintenance list", ["maintenance", "list"], None),
]


def measure(argv: list[str], runs: int, env: dict[str, str] | None) -> tuple[float, int]:
    """Median wall seconds and the largest peak RSS (bytes) over `runs` runs of a fresh process.

    With `env` (bytecode allowed), one untimed run first writes the bytecode and warms the page cache."""
    walls, peaks = [], []
    if env is not None:
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - t0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
        peaks.append(usage.ru_maxrss * 1024)
    return statistics.median(walls), max(peaks)


def main() -> int:
    """Measure the bare interpreter, then each command, and print one table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--no-warm-up", action="store_true", help="no warm-up run; the environment as given")
    opts = ap.parse_args()
    runs = opts.runs
    env = None if opts.no_warm_up else {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_wall, base_rss = measure([sys.executable, "-c", "pass"], runs, env)
    rows = [Row("python -c pass", f"{base_wall * 1000:.0f} ms, {base_rss / 2**20:.1f} MiB")]
    for name, args, goal in COMMANDS:
        wall, rss = measure(AGENT + args, runs, env)
        ratio = wall / base_wall
        rows.append(
            Row(
                name,
                f"{wall * 1000:.0f} ms, {rss / 2**20:.1f} MiB",
                "python -c pass",
                f"{ratio:.1f}x",
                f"<= {goal:g}x" if goal else "-",
                None if goal is None else ratio <= goal,
            )
        )
    how = "environment as given, no warm-up" if opts.no_warm_up else "from bytecode, after a warm-up run"
    report(f"CLI start-up, median of {runs} runs, {how} ({machine()})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
