"""The `render` command at work (imported when it runs, so that registering it stays cheap)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.cli.commands._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load_or_report
from agent.cli.commands._timeargs import BadArgument, parse_aware
from agent.contract.exclusions import load_exclusions
from agent.contract.sla import SlaCalculator
from agent.history.schema import HistoryError
from agent.maintenance.calendar import MaintenanceCalendar
from agent.runtime.targets import components_of
from statuspage.config import SiteConfig
from statuspage.incidents import IncidentFileError, load_incidents
from statuspage.output import OutputError, OutputNotOwned
from statuspage.render import SiteError
from statuspage.site import StatusSite


def _now(text: str | None) -> datetime | None:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_aware(text, option="--now")
    except BadArgument:  # no offset, not ISO 8601, or a year datetime cannot shift (0001-01-01T00:00+01:00)
        return None


def main(args: argparse.Namespace) -> int:
    """Render once; 0 on success, 1 when the render fails, 2 for bad input or an --out dialtone does not own."""
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    now = _now(args.now)
    if now is None:
        print(
            f"render: --now {args.now!r}: give an ISO 8601 instant with an offset, e.g. 2026-03-16T18:00Z",
            file=sys.stderr,
        )
        return EXIT_USAGE
    configured = config.site or SiteConfig()
    site_cfg = configured if args.out is None else configured.model_copy(update={"out": Path(args.out)})
    if overlaps := config.model_copy(update={"site": site_cfg}).site_overlaps(Path(args.config)):
        for reason in overlaps:
            print(f"render: --out {site_cfg.out}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        load_incidents(site_cfg.incidents)  # report a broken incident file here, not as a half-empty page
        calendar = MaintenanceCalendar(config.maintenance)
        exclusions = load_exclusions(config.sla.exclusions_file) if config.sla.exclusions_file else []
        sla = SlaCalculator(config.sla, calendar, exclusions)
        site = StatusSite(site_cfg, components_of(config), config.history.path, calendar=calendar, sla=sla)
        try:
            count, result = site.render(now)
        finally:
            site.close()
    except (IncidentFileError, SiteError, ValueError, OutputNotOwned) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (HistoryError, OutputError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not config.history.path.is_file():
        print(f"render: note: no history at {config.history.path} yet; every day shows no data", file=sys.stderr)
    print(f"rendered {count} files into {site_cfg.out} ({result.written} written, {result.linked} unchanged)")
    return EXIT_OK
