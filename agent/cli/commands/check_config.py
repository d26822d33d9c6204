"""`dialtone check-config FILE`: validate a config; exit 0 valid, 2 with every error listed."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report


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
    print(f"{args.file}: valid: {len(config.components)} components, {len(config.targets)} targets")
    return EXIT_OK
