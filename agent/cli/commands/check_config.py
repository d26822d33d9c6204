"""`dialtone check-config FILE`: validate a config; exit 0 valid, 2 with every error listed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report

if TYPE_CHECKING:
    from agent.runtime.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `check-config` subcommand."""
    p = sub.add_parser("check-config", help="validate a config file", description=__doc__)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate and summarise."""
    config = load_or_report(args.file)
    if config is None:
        return EXIT_USAGE
    if errors := incident_errors(config):
        for line in errors:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.file}: valid: {len(config.components)} components, {len(config.targets)} targets")
    return EXIT_OK


def incident_errors(config: Config) -> list[str]:
    """The site's incident files: each unreadable file, or each post naming a component not configured."""
    if config.site is None:
        return []
    from statuspage.incidents import IncidentFileError, load_incidents, unknown_components

    folder = config.site.incidents
    try:
        incidents = load_incidents(folder, render=False)  # the same checks, without loading Markdown
    except IncidentFileError as exc:
        return [f"site.incidents: {exc}"]
    return [f"site.incidents: {folder}: {e}" for e in unknown_components(incidents, (c.id for c in config.components))]
