"""Collectors the composition root registers: they read health counters of parts that import no
prometheus_client themselves (history writer, MQTT sink, SNMP trap receiver) at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _History(Protocol):
    write_errors: int
    last_flush_seconds: float

    @property
    def dropped(self) -> int: ...

    @property
    def queue_depth(self) -> int: ...


class HistoryCollector(Collector):
    """dialtone_history_* from the history writer."""

    def __init__(self, writer: _History) -> None:
        self.writer = writer

    def collect(self) -> Iterator[Metric]:
        """Yield the history families."""
        w = self.writer
        yield CounterMetricFamily("dialtone_history_write_errors", "Failed history writes.", value=w.write_errors)
        yield CounterMetricFamily(
            "dialtone_history_dropped", "Records dropped because the queue was full.", value=w.dropped
        )
        yield GaugeMetricFamily("dialtone_history_queue_depth", "Records waiting to be written.", value=w.queue_depth)
        yield GaugeMetricFamily(
            "dialtone_history_last_flush_seconds", "Duration of the last batch write.", value=w.last_flush_seconds
        )


class _Mqtt(Protocol):
    connected: bool
    published_total: int
    publish_errors_total: int

    @property
    def outbox_depth(self) -> int: ...


class MqttCollector(Collector):
    """dialtone_mqtt_* from the MQTT sink."""

    def __init__(self, sink: _Mqtt) -> None:
        self.sink = sink

    def collect(self) -> Iterator[Metric]:
        """Yield the MQTT families."""
        s = self.sink
        yield GaugeMetricFamily(
            "dialtone_mqtt_connected", "1 while a session with the broker is up.", value=1.0 if s.connected else 0.0
        )
        yield GaugeMetricFamily(
            "dialtone_mqtt_outbox_depth", "State changes waiting for the broker's PUBACK.", value=s.outbox_depth
        )
        yield CounterMetricFamily(
            "dialtone_mqtt_published", "Messages the broker acknowledged.", value=s.published_total
        )
        yield CounterMetricFamily(
            "dialtone_mqtt_publish_errors", "Publishes that failed or were cut off.", value=s.publish_errors_total
        )


class CountsCollector(Collector):
    """A counter family with one label, read from a callable returning {label value: count}."""

    def __init__(self, name: str, help_: str, label: str, counts: Callable[[], Mapping[str, int]]) -> None:
        self.name, self.help, self.label, self.counts = name, help_, label, counts

    def collect(self) -> Iterator[Metric]:
        """Yield the family."""
        fam = CounterMetricFamily(self.name, self.help, labels=[self.label])
        for value, count in sorted(self.counts().items()):
            fam.add_metric([value], count)
        yield fam


class ReloadStatus:
    """Whether the last reread of web.yml worked, and when one last worked (its own metric: the main
    config can reload while the web config is refused, and the reverse)."""

    def __init__(self) -> None:
        self.ok = True
        self.last_success = 0.0

    def succeeded(self) -> None:
        """Record a successful (re)load."""
        self.ok, self.last_success = True, time.time()

    def failed(self) -> None:
        """Record a refused reload; the previous web config keeps running."""
        self.ok = False


class _Listeners(Protocol):
    @property
    def guards(self) -> list[Any]: ...

    @property
    def login_counts(self) -> dict[str, int]: ...


class ListenerCollector(Collector):
    """dialtone_web_* and dialtone_listener_*: the web config's reload state, logins, the connection cap."""

    def __init__(self, listeners: _Listeners, reload: ReloadStatus) -> None:
        self.listeners, self.reload = listeners, reload

    def collect(self) -> Iterator[Metric]:
        """Yield the listener families."""
        yield GaugeMetricFamily(
            "dialtone_web_config_last_reload_successful",
            "Whether the last (re)load of web.config_file succeeded.",
            value=int(self.reload.ok),
        )
        yield GaugeMetricFamily(
            "dialtone_web_config_last_reload_success_timestamp_seconds",
            "When web.config_file was last loaded successfully.",
            value=self.reload.last_success,
        )
        guards = self.listeners.guards
        yield GaugeMetricFamily(
            "dialtone_listener_connections",
            "Connections open on the agent's listeners.",
            value=sum(g.active for g in guards),
        )
        yield GaugeMetricFamily(
            "dialtone_listener_connections_limit",
            "The listeners' connection cap (after the descriptor reserve).",
            value=sum(g.limit for g in guards),
        )
        yield CounterMetricFamily(
            "dialtone_listener_connections_refused",
            "Connections answered 503 because a cap was reached.",
            value=sum(g.refused for g in guards),
        )
        logins = CounterMetricFamily(
            "dialtone_web_logins", "Basic-auth checks, by result (ok, refused, busy).", labels=["result"]
        )
        for result, count in sorted(self.listeners.login_counts.items()):
            logins.add_metric([result], count)
        yield logins


def register_listener_metrics(registry: CollectorRegistry, listeners: _Listeners, reload: ReloadStatus) -> None:
    """Register the listener collector on the agent's registry."""
    registry.register(ListenerCollector(listeners, reload))
