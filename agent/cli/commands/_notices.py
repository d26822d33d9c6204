"""The `notices` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report
from agent.cli.commands._timeargs import BadArgument, parse_aware
from agent.core.clock import SystemClock
from agent.maintenance.calendar import MaintenanceCalendar


def list_main(args: argparse.Namespace) -> int:
    """Print what was sent and what will be."""
    from agent.notify.outbox import NoticeOutboxError, read_rows
    from agent.notify.planner import maintenance_notices

    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    if config.notify is None:
        print("dialtone notices: this config has no notify: block; nothing is sent", file=sys.stderr)
        return EXIT_USAGE
    try:
        now = parse_aware(args.at, option="--at") if args.at else SystemClock().now()
        since, rows = read_rows(config.notify.outbox, args.limit)
    except (BadArgument, NoticeOutboxError) as exc:
        print(f"dialtone notices: {exc}", file=sys.stderr)
        return EXIT_USAGE
    n = config.notify
    future = maintenance_notices(
        None,
        MaintenanceCalendar(config.maintenance),
        now,
        since or now,
        future=True,
        reminder=timedelta(seconds=n.reminder),
        horizon=timedelta(seconds=n.horizon),
    )
    future.sort(key=lambda x: x.due)
    if args.json:
        print(
            json.dumps(
                {
                    "outbox": [
                        {
                            "id": r.id,
                            "kind": r.kind,
                            "due": r.due.isoformat(),
                            "queued": r.queued.isoformat(),
                            "pending": r.pending,
                            "sent": r.sent,
                            "failed": r.failed,
                        }
                        for r in rows
                    ],
                    "upcoming": [{"id": x.id, "kind": x.kind, "due": x.due.isoformat()} for x in future],
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"outbox {config.notify.outbox}" + ("" if since else " (not created yet)"))
    for r in rows:
        print(f"  {_t(r.due)}  {r.kind:<22} {r.id}  sent {r.sent}, pending {r.pending}, failed {r.failed}")
    print(f"to come (from {_t(now)})")
    for x in future:
        print(f"  {_t(x.due)}  {x.kind:<22} {x.id}")
    return EXIT_OK


def _t(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}Z"
