"""The `sla` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report
from agent.contract.exclusions import load_events, load_exclusions
from agent.contract.format import render
from agent.contract.sla import SlaCalculator, SlaReport, month_bounds, parse_month
from agent.contract.sla_config import SlaConfig
from agent.core.clock import SystemClock
from agent.maintenance.calendar import MaintenanceCalendar
from agent.runtime.config import Config


class _Refused(Exception):
    """Bad input found by a handler; the message is printed and the exit code is 2."""


def _calculator(config: Config | None) -> SlaCalculator:
    if config is None:
        return SlaCalculator(SlaConfig(), MaintenanceCalendar())
    exclusions = []
    if config.sla.exclusions_file is not None:
        try:
            exclusions = load_exclusions(config.sla.exclusions_file)
        except ValueError as exc:
            raise _Refused(str(exc)) from None
    return SlaCalculator(config.sla, MaintenanceCalendar(config.maintenance), exclusions)


def _run(args: argparse.Namespace, body: str) -> int:
    try:
        config = _load(args)
        reports = _report(args, config) if body == "report" else _compute(args, config)
    except _Refused as exc:
        print(f"dialtone sla {body}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(render(reports, args.format, config.sla if config is not None else SlaConfig()))
    return EXIT_OK


def _load(args: argparse.Namespace) -> Config | None:
    if not args.config:
        return None
    config = load_or_report(args.config)
    if config is None:
        raise _Refused(f"invalid config {args.config} (errors above)")
    return config


def _month(args: argparse.Namespace) -> tuple[int, int]:
    try:
        return parse_month(args.month)
    except ValueError as exc:
        raise _Refused(str(exc)) from None


def report_main(args: argparse.Namespace) -> int:
    """Report a month (or the month to date) from history."""
    return _run(args, "report")


def compute_main(args: argparse.Namespace) -> int:
    """Recompute a month from an events file."""
    return _run(args, "compute")


def _report(args: argparse.Namespace, config: Config | None) -> list[SlaReport]:
    from agent.history.reader import HistoryReader
    from agent.history.schema import HistoryError

    assert config is not None  # argparse requires --config for `report`
    year, month = _month(args)
    now = SystemClock().now()
    start, end = month_bounds(year, month, config.sla.zone)
    if start >= now:
        raise _Refused(f"month {args.month} has not started yet")
    components = config.components
    if args.component:
        components = [c for c in components if c.id == args.component]
        if not components:
            raise _Refused(f"unknown component {args.component!r} (not in {args.config})")
    calc = _calculator(config)
    path = Path(args.history) if args.history else config.history.path
    try:
        with HistoryReader(path) as reader:
            return [
                calc.report(
                    c.id,
                    c.target_percent,
                    year,
                    month,
                    reader.down_intervals(c.id, start, end),
                    now=now,
                    quality=reader.quality_intervals(c.id, start, end),
                )
                for c in components
            ]
    except HistoryError as exc:
        raise _Refused(str(exc)) from None


def _compute(args: argparse.Namespace, config: Config | None) -> list[SlaReport]:
    year, month = _month(args)
    if args.target is not None and not 0 < args.target <= 100:
        raise _Refused(f"--target {args.target:g}: give a percentage above 0 and at most 100, e.g. 99.95")
    try:
        events = load_events(args.events)
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    ids = [args.component] if args.component else sorted({e.component for e in events})
    calc = _calculator(config)
    reports = []
    for cid in ids:
        target = args.target if args.target is not None else _target(config, cid)
        mine = [e for e in events if e.component == cid]
        down = [(e.start, e.end) for e in mine]
        causes = [(e.start, e.end, e.cause) for e in mine if e.cause]
        reports.append(calc.report(cid, target, year, month, down, causes=causes))
    return reports


def _target(config: Config | None, component: str) -> float:
    if config is None:
        raise _Refused(f"no SLA target for {component!r}: give --target PERCENT or -c CONFIG")
    try:
        return config.component(component).target_percent
    except KeyError:
        raise _Refused(f"component {component!r} is not in the config; give --target PERCENT") from None
