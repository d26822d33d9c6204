"""`dialtone aggregate -c FILE`: combine many agents' MQTT events into one status by an N-of-M quorum.

Uses the config's `mqtt:` block (the broker), `aggregate:` block (quorum, vantages, /metrics address),
`components:` (the ids accepted) and `history:` (where the aggregated transitions are kept). When the config
has a `site:` block the status page is rendered from the aggregated history after each change.
"""

from __future__ import annotations

import argparse

from agent.cli.commands._common import add_service_args, handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `aggregate` subcommand."""
    p = sub.add_parser(
        "aggregate",
        help="combine many agents' MQTT events by N-of-M quorum",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_service_args(p)
    p.set_defaults(func=handler("agent.cli.commands._aggregate", "main"))
