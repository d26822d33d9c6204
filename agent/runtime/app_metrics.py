"""Collectors the composition root registers: they read health counters of parts that import no
prometheus_client themselves (history writer, MQTT sink, SNMP trap receiver) at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

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
