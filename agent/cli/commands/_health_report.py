"""The `health-report` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report
from agent.contract.sla import month_bounds, parse_month
from agent.runtime.config import Config
from agent.snmp.health import MonthlyHealth, build_report
from agent.snmp.health_format import render


class _Refused(Exception):
    """Bad input; printed, exit code 2."""


def main(args: argparse.Namespace) -> int:
    """Print the report; exit 2 on a bad month, config, target or history file."""
    try:
        config = load_or_report(args.config)
        if config is None:
            raise _Refused(f"invalid config {args.config} (errors above)")
        report = _build(args, config)
    except _Refused as exc:
        print(f"dialtone health-report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(render(report, args.format, config.sla.zone), end="" if args.format == "markdown" else "\n")
    return EXIT_OK


def devices(config: Config, only: list[str] | None) -> dict[str, str]:
    """target id -> display name ("<component name>: <target id>") of every snmp target, or of `only`."""
    names = {c.id: c.name for c in config.components}
    found = {t.id: f"{names.get(t.component, t.component)}: {t.id}" for t in config.targets if t.kind == "snmp"}
    for tid in only or []:
        if tid not in found:
            raise _Refused(f"--target {tid!r} is not an snmp target of this config")
    return {t: n for t, n in found.items() if not only or t in only}


def _build(args: argparse.Namespace, config: Config) -> MonthlyHealth:
    from agent.history.reader import HistoryReader
    from agent.history.schema import HistoryError

    try:
        year, month = parse_month(args.month)
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    start, end = month_bounds(year, month, config.sla.zone)
    now = datetime.now(UTC)
    if start >= now:
        raise _Refused(f"month {args.month} has not started yet")
    chosen = devices(config, args.target)
    path = Path(args.history) if args.history else config.history.path
    try:
        with HistoryReader(path) as reader:
            return build_report(reader, chosen, f"{year:04d}-{month:02d}", start, min(end, now))
    except HistoryError as exc:
        raise _Refused(str(exc)) from None
