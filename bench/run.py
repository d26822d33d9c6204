"""`make bench`: run every benchmark in bench/ and print one table (figure, dialtone, anchor, ratio, goal).

Each bench prints BENCH_ROW JSON lines (bench/common.py). The table is also written to bench/results/latest.md,
which is what the README's Performance section quotes, with the machine it ran on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import machine  # noqa: E402

SKIP = {"__init__.py", "common.py", "run.py", "targets_server.py"}


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in SKIP)
    only = set(sys.argv[1:])
    rows: list[dict[str, object]] = []
    failed: list[str] = []
    for script in scripts:
        if only and script.stem not in only:
            continue
        print(f"--- {script.name}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent)
        got = [json.loads(ln[len("BENCH_ROW "):]) for ln in proc.stdout.splitlines() if ln.startswith("BENCH_ROW ")]
        print(f"    {len(got)} figures in {time.monotonic() - t0:.0f} s, exit {proc.returncode}", flush=True)
        if proc.returncode != 0 or not got:
            failed.append(script.name)
            print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n")
        rows.extend(got)
    table = render(rows, failed)
    print(table)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(table)
    return 1 if failed else 0


def render(rows: list[dict[str, object]], failed: list[str]) -> str:
    lines = [f"Measured on {machine()}, {time.strftime('%Y-%m-%d', time.gmtime())}.", "",
             "| bench | figure | dialtone | anchor | ratio | goal |", "|---|---|---|---|---|---|"]
    for r in rows:
        mark = {True: " ✔", False: " ✘"}.get(r.get("met"), "")  # type: ignore[call-overload]
        lines.append(f"| {r['bench']} | {r['figure']} | {r['dialtone']} | {r['anchor']} | {r['ratio']} "
                     f"| {r['goal']}{mark} |")
    if failed:
        lines += ["", "Benchmarks that failed: " + ", ".join(failed)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
