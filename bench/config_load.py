"""Config loading cost: `dialtone check-config` on a 10 MB config and on an alias bomb, as a real process.

Anchor, measured in the same run: PyYAML's pure-Python SafeLoader reading the same file (what the loader
used before libyaml, before any validation). Issue 16 reported over 60 s for 13 MB and over 60 s and 2 GB
for a 464-byte bomb.

Usage: .venv/bin/python bench/config_load.py [--targets N] [--bomb-levels N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench.common import Row, machine, report

ROOT = Path(__file__).resolve().parents[1]


def big_config(targets: int) -> str:
    """One component and `targets` HTTP targets with labels: about 180 bytes and 23 nodes per target."""
    out = ["vantage: big", "components:", "  - {id: web, name: Web, tier: core}", "targets:"]
    for i in range(targets):
        out.append(
            f"  - id: t{i}\n    component: web\n    kind: http\n    interval: 60s\n    timeout: 5s\n"
            f"    labels: {{team: ops, site: dc{i % 7}}}\n"
            f"    http: {{url: 'http://127.0.0.1:9/{i}/health', method: GET}}"
        )
    return "\n".join(out) + "\n"


def bomb(levels: int) -> str:
    """Nine aliases per level of the level before: 9**levels strings in a few hundred bytes."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def check(path: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and the first output line of `dialtone check-config FILE`."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agent", "check-config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return wall, peak, (done.stdout or done.stderr).splitlines()[0]


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=60_000)
    ap.add_argument("--bomb-levels", type=int, default=9)
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        big, evil = Path(tmp) / "big.yaml", Path(tmp) / "bomb.yaml"
        big.write_text(big_config(args.targets))
        evil.write_text(bomb(args.bomb_levels))
        mb = big.stat().st_size / 1e6
        bomb_wall, bomb_peak, bomb_out = check(evil)
        big_wall, big_peak, big_out = check(big)
        text = big.read_text()
        t0 = time.perf_counter()
        yaml.load(text, Loader=yaml.SafeLoader)
        pure = time.perf_counter() - t0
    print(big_out)
    print(bomb_out)
    report(
        "config_load",
        [
            Row(
                f"check-config, {mb:.1f} MB, {args.targets} targets (libyaml: {yaml.__with_libyaml__})",
                f"{big_wall:.1f} s",
                f"{pure:.1f} s (pure-Python SafeLoader, parse only)",
                f"{pure / big_wall:.1f}x",
                "< 30 s",
                big_wall < 30,
            ),
            Row(
                f"check-config, {len(bomb(args.bomb_levels))}-byte alias bomb ({args.bomb_levels} levels)",
                f"{bomb_wall:.2f} s, refused",
                "> 60 s, > 2 GB (issue 16)",
                "-",
                "< 5 s",
                bomb_wall < 5,
            ),
            Row("peak RSS of check-config (largest run)", f"{max(big_peak, bomb_peak) / 2**20:.0f} MiB"),
        ],
    )


if __name__ == "__main__":
    main()
