"""Shared benchmark helpers: CPU accounting per process and one table format for every bench.

Every bench prints rows of: figure | dialtone | anchor | ratio | goal. `make bench` (bench/run.py) collects the
rows each script prints as JSON lines prefixed with BENCH_ROW so it can build one table.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    """One measured figure beside its anchor (a peer tool measured in the same run) and its goal."""

    figure: str
    dialtone: str
    anchor: str = "-"
    ratio: str = "-"
    goal: str = "-"
    met: bool | None = None


def self_cpu_seconds() -> float:
    """CPU seconds (user + system) used by this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pid_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used by another process so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default)."""
    with open(f"/proc/{pid or os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def open_fds(pid: int | None = None) -> int:
    """Number of open file descriptors."""
    return len(os.listdir(f"/proc/{pid or os.getpid()}/fd"))


class Stopwatch:
    """Wall and CPU time of a block: `with Stopwatch() as sw: ...; sw.wall, sw.cpu`."""

    def __enter__(self) -> Stopwatch:
        self._w0, self._c0 = time.perf_counter(), self_cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w0
        self.cpu = self_cpu_seconds() - self._c0


def machine() -> str:
    """A one-line description of the machine the figures were measured on."""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        model = "?"
    cores = os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cores} cores ({model}), Python {platform.python_version()}"


def report(title: str, rows: Sequence[Row]) -> None:
    """Print a table for people and one BENCH_ROW JSON line per row for bench/run.py."""
    print(f"\n== {title}")
    cols = ("figure", "dialtone", "anchor", "ratio", "goal")
    table = [cols] + [(r.figure, r.dialtone, r.anchor, r.ratio, r.goal + _mark(r.met)) for r in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(cols))]
    for line in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
    for r in rows:
        print("BENCH_ROW " + json.dumps({"bench": title, **asdict(r)}))


def _mark(met: bool | None) -> str:
    return "" if met is None else (" (met)" if met else " (NOT met)")
