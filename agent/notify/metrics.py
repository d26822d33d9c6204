"""The notifier's metrics, built at scrape time from counters and the counts its last pass cached: a scrape
runs on the event loop, so it must not read SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class NotifyCollector:
    """dialtone_notify_*: deliveries by state, sends and failed attempts by channel, notices queued."""

    def __init__(self, notifier: Any) -> None:
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families."""
        n = self.notifier
        state = GaugeMetricFamily("dialtone_notify_deliveries", "Outbox deliveries by state.", labels=["state"])
        counts = n.stats["deliveries"]
        for s in ("pending", "sent", "failed", "cancelled"):
            state.add_metric([s], counts.get(s, 0))
        yield state
        sent = CounterMetricFamily(
            "dialtone_notify_sent", "Deliveries accepted by the peer, by channel.", labels=["channel"]
        )
        failed = CounterMetricFamily(
            "dialtone_notify_attempt_failures",
            "Failed delivery attempts (retried with backoff), by channel.",
            labels=["channel"],
        )
        for ch in ("email", "webhook", "apprise"):
            sent.add_metric([ch], n.deliverer.sent[ch])
            failed.add_metric([ch], n.deliverer.failures[ch])
        yield sent
        yield failed
        yield CounterMetricFamily("dialtone_notify_notices_queued", "Notices committed to the outbox.", value=n.queued)
        if n.subscribers is not None:
            subs = GaugeMetricFamily("dialtone_notify_subscribers", "E-mail subscribers by state.", labels=["state"])
            by = n.stats["subscribers"]
            for s in ("confirmed", "pending"):
                subs.add_metric([s], by.get(s, 0))
            yield subs
