"""The `maintenance` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report
from agent.cli.commands._timeargs import BadArgument, parse_instant
from agent.core.clock import SystemClock
from agent.maintenance.calendar import MaintenanceCalendar, MaintenanceConfig, Occurrence, build_ics
from agent.maintenance.rules import zone

DEFAULT_SPAN = timedelta(days=90)


def _config(args: argparse.Namespace) -> MaintenanceConfig | None:
    if not args.config:
        return MaintenanceConfig()
    config = load_or_report(args.config)
    return config.maintenance if config is not None else None


def list_main(args: argparse.Namespace) -> int:
    """Print each window occurrence with UTC and local times, scope, notice and emergency flag."""
    config = _config(args)
    if config is None:
        return EXIT_USAGE
    tz = zone(config.zone)
    now = SystemClock().now()
    try:
        start = parse_instant(args.start, tz, option="--from") if args.start else now
        end = parse_instant(args.end, tz, option="--to", end_of_day=True) if args.end else start + DEFAULT_SPAN
    except BadArgument as exc:
        print(f"dialtone maintenance list: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if end <= start:
        print("dialtone maintenance list: --to must be after --from", file=sys.stderr)
        return EXIT_USAGE
    found = MaintenanceCalendar(config).occurrences(start, end, args.component)
    if args.json:
        print(json.dumps([o.to_json() for o in found], indent=2))
    else:
        print(format_table(found))
    return EXIT_OK


def _when(o: Occurrence, at: datetime) -> str:
    local = o.local(at)
    return f"{at:%Y-%m-%d %H:%M}Z ({local:%a %Y-%m-%d %H:%M %Z})"


def format_table(found: list[Occurrence]) -> str:
    """One block per occurrence: times in UTC and in the window's zone, scope, notice, emergency."""
    if not found:
        return "no maintenance windows in this range"
    lines = []
    for o in found:
        scope = ", ".join(sorted(o.components)) or "all components"
        flag = f"EMERGENCY: {o.reason}" if o.emergency else ("not counted" if not o.counted else "")
        lines.append(f"{o.window}  [{o.kind}]  {o.title}")
        lines.append(f"  start   {_when(o, o.start)}")
        lines.append(f"  end     {_when(o, o.end)}  zone {o.zone}")
        lines.append(f"  scope   {scope}")
        lines.append(f"  notice  {o.notice_at:%Y-%m-%d %H:%M}Z" + (f"  {flag}" if flag else ""))
    return "\n".join(lines)


def ics_main(args: argparse.Namespace) -> int:
    """Write the feed to stdout or a file."""
    config = _config(args)
    if config is None:
        return EXIT_USAGE
    data = build_ics(MaintenanceCalendar(config), now=SystemClock().now())
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the file name
            reason = exc.strerror if isinstance(exc, OSError) else "not a valid file name"
            print(f"dialtone maintenance ics: cannot write {args.output!r}: {reason}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK
