"""The work of `dialtone aggregate -c FILE`: combine many agents' MQTT events into one status by an N-of-M quorum.

Uses the config's `mqtt:` block (the broker), `aggregate:` block (quorum, vantages, /metrics address),
`components:` (the ids accepted) and `history:` (where the aggregated transitions are kept). When the config
has a `site:` block the status page is rendered from the aggregated history after each change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.cli.commands._common import EXIT_OK, EXIT_USAGE, load_or_report, setup_logging

if TYPE_CHECKING:
    from agent.history.writer import HistoryWriter
    from agent.runtime.config import Config

log = logging.getLogger("dialtone.aggregate")


def main(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; exit 2 before anything starts when the config or start-up is bad."""
    setup_logging(args.log_level)
    config = load_or_report(args.config)
    if config is None:
        return EXIT_USAGE
    if config.mqtt is None:
        print(f"{args.config}: mqtt: the aggregator needs an mqtt: block naming the broker", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_run(config))


async def _run(config: Config) -> int:
    assert config.mqtt is not None  # checked by main
    from agent.aggregate.aggregator import Aggregator
    from agent.aggregate.config import AggregateConfig
    from agent.history.schema import HistoryError, open_history
    from agent.history.writer import HistoryWriter

    h = config.history
    try:
        open_history(h.path)
    except HistoryError as exc:
        print(f"dialtone: cannot start: {exc}", file=sys.stderr)
        return EXIT_USAGE
    history = HistoryWriter(
        h.path,
        results_retention=h.results_retention,
        transitions_retention=h.transitions_retention,
        rollups_retention=h.rollups_retention,
        batch_interval=h.batch_interval,
    )
    changed = asyncio.Event()
    aggregator = Aggregator(
        config.mqtt,
        config.aggregate or AggregateConfig(),
        components=[c.id for c in config.components],
        sinks=[history],
        on_change=lambda _: changed.set(),
    )
    await history.start()
    try:
        runner = await aggregator.serve()
    except OSError as exc:
        print(f"dialtone: cannot start: aggregate.listen {aggregator.config.listen}: {exc.strerror}", file=sys.stderr)
        await history.aclose()
        return EXIT_USAGE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(aggregator.run())]
    site = getattr(config, "site", None)
    if site is not None:
        render = _page_renderer(config, site)
        changed.set()  # the first page right away, not at the first change
        tasks.append(asyncio.create_task(_render_loop(render, history, changed, site.render_interval)))
    log.info("aggregating with quorum %d; /metrics on %s", aggregator.view.quorum, aggregator.config.listen)
    await stop.wait()
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t
    await runner.cleanup()
    await history.aclose()
    return EXIT_OK


def _page_renderer(config: Config, site: Any) -> Callable[[], None]:
    """Build the page from the aggregated history, as the `site:` block says."""
    from agent.history.reader import HistoryReader
    from agent.runtime.targets import components_of
    from statuspage.build import ModelBuilder
    from statuspage.output import AtomicSite
    from statuspage.render import Renderer

    builder = ModelBuilder(site, components_of(config), HistoryReader(config.history.path))
    renderer, out = Renderer(site), AtomicSite(site.out)

    def render() -> None:
        now = datetime.now(UTC)
        # History keeps milliseconds; a microsecond `now` would fall after the last interval's end.
        out.write(renderer.files(builder.build(now.replace(microsecond=now.microsecond // 1000 * 1000))))

    return render


async def _render_loop(
    render: Callable[[], None], history: HistoryWriter, changed: asyncio.Event, every: float
) -> None:
    """Render after each aggregated change (and every `every` seconds, as days roll over), off the loop."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), every)
        changed.clear()
        await history.flush()
        try:
            await asyncio.to_thread(render)
        except Exception:  # a page that cannot be written must not stop the aggregation
            log.exception("status page rendering failed")
