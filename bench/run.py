"""`make bench`: run every benchmark in bench/ and print one table (figure, dialtone, anchor, ratio, goal).

Each bench prints BENCH_ROW JSON lines (bench/common.py). The rows are kept in bench/results/latest.json and
rendered, one table per script with its date and machine, to bench/results/latest.md, which is what the README's
Performance section quotes. `python bench/run.py soak scale` runs only the scripts named and keeps the other
scripts' last rows.
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

SKIP = {"__init__.py", "common.py", "run.py", "targets_server.py", "abuse_attacks.py"}
RESULTS = HERE / "results"


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in SKIP)
    only = set(sys.argv[1:])
    unknown = only - {p.stem for p in scripts}
    if unknown:
        print(f"no such benchmark: {', '.join(sorted(unknown))} (have: {', '.join(p.stem for p in scripts)})")
        return 2
    store = RESULTS / "latest.json"
    runs: dict[str, dict[str, object]] = json.loads(store.read_text()) if store.exists() and only else {}
    failed: list[str] = []
    for script in scripts:
        if only and script.stem not in only:
            continue
        print(f"--- {script.name}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent)
        got = [json.loads(ln[len("BENCH_ROW ") :]) for ln in proc.stdout.splitlines() if ln.startswith("BENCH_ROW ")]
        print(f"    {len(got)} figures in {time.monotonic() - t0:.0f} s, exit {proc.returncode}", flush=True)
        if proc.returncode != 0 or not got:
            failed.append(script.name)
            print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n")
        runs[script.stem] = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "machine": machine(), "rows": got}
    table = render(runs, failed)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    store.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "latest.md").write_text(table)
    return 1 if failed else 0


def render(runs: dict[str, dict[str, object]], failed: list[str]) -> str:
    """One table per benchmark script, with the command that printed it and when and where it ran."""
    lines: list[str] = []
    for stem in sorted(runs):
        run = runs[stem]
        rows: list[dict[str, object]] = run["rows"]  # type: ignore[assignment]
        title = str(rows[0]["bench"]) if rows else stem
        lines += [f"### {title}", "", f"`python bench/{stem}.py`, {run['date']}, {run['machine']}.", "",
                  "| figure | dialtone | anchor | ratio | goal |", "|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            mark = {True: " ✔", False: " ✘"}.get(r.get("met"), "")  # type: ignore[call-overload]
            if r["bench"] != title:  # a script that prints more than one table
                lines.append(f"| **{r['bench']}** | | | | |")
                title = str(r["bench"])
            lines.append(f"| {r['figure']} | {r['dialtone']} | {r['anchor']} | {r['ratio']} | {r['goal']}{mark} |")
        lines.append("")
    if failed:
        lines += ["Benchmarks that failed: " + ", ".join(failed), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
