"""The multi-vantage aggregator: reads every agent's MQTT topics and decides each component's status by an
N-of-M quorum, so one vantage losing its own network never shows a false outage.

A vantage counts while its agent topic says `online` (a dead agent's Last Will says `offline`). A status at
or above a severity is shown only when at least N online vantages report it or worse; below N votes the
component stays operational. Aggregated transitions go to the given sinks (the history writer) and the
status is exported as `dialtone_component_status{component,status}` on the aggregator's own registry.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import aiomqtt
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent.aggregate.config import AggregateConfig
from agent.aggregate.payload import REASONS, UNKNOWN, Rejected, WireEvent, parse_event
from agent.core.clock import Clock, SystemClock
from agent.core.model import ALL_STATUSES, Sink, Status, Transition
from agent.sinks.mqtt import MqttConfig, tls_context

log = logging.getLogger("dialtone.aggregate")

_LOG_EVERY = 10.0
_BY_SEVERITY = sorted(ALL_STATUSES, key=lambda s: s.severity, reverse=True)


class Duplicate(Exception):
    """An event already seen (same stream, sequence number not newer): normal with at-least-once delivery."""


class QuorumView:
    """Pure state: which vantages are online, what each reports, and the aggregated status per component."""

    def __init__(self, config: AggregateConfig, components: Iterable[str] = ()) -> None:
        self.quorum = config.quorum
        self._config = config
        self._allowed = frozenset(config.vantages)
        self._known = frozenset(components)
        self.online: dict[str, bool] = {}
        self.reports: dict[str, dict[str, Status]] = {}
        self.status: dict[str, Status] = {}
        self.since: dict[str, datetime] = {}
        self._seen: dict[tuple[str, str], tuple[str, int, datetime]] = {}
        self._high: dict[str, tuple[str, int, datetime]] = {}
        """Per vantage: its latest stream, the highest seq accepted on it, and that event's `at`."""

    def apply(self, ev: WireEvent, now: datetime, retained: bool = False) -> list[Transition]:
        """Fold one validated event in (`retained`: the broker's stored copy); returns the transitions it causes."""
        self._admit(ev)
        self._order(ev, now, retained)
        self.online.setdefault(ev.vantage, False)
        if ev.kind == "agent":
            online = ev.status == "online"
            if self.online.get(ev.vantage) == online:
                return []
            self.online[ev.vantage] = online
            touched = [c for c, votes in self.reports.items() if ev.vantage in votes]
            return [t for c in touched for t in self._recompute(c, now, now)]
        votes = self.reports.setdefault(ev.subject, {})
        if ev.status == UNKNOWN:
            votes.pop(ev.vantage, None)  # the vantage knows nothing of it now: no vote, neither up nor down
        else:
            votes[ev.vantage] = Status(ev.status)
        return self._recompute(ev.subject, ev.at, now)

    def decide(self, component: str) -> tuple[Status | None, str]:
        """The quorum's verdict for a component and why; None when no online vantage reports it."""
        votes = {v: s for v, s in sorted(self.reports.get(component, {}).items()) if self.online.get(v)}
        if not votes:
            return None, "no online vantage reports it"
        shown = ", ".join(f"{v}={s.value}" for v, s in list(votes.items())[:10])
        for status in _BY_SEVERITY:
            agree = sum(1 for s in votes.values() if s.severity >= status.severity)
            if agree >= self.quorum and status is not Status.OPERATIONAL:
                return status, f"quorum {agree} of {len(votes)} online vantages (need {self.quorum}): {shown}"
        return Status.OPERATIONAL, f"fewer than {self.quorum} online vantages agree on a problem: {shown}"

    def _recompute(self, component: str, at: datetime, now: datetime) -> list[Transition]:
        new, cause = self.decide(component)
        old = self.status.get(component)
        if new is None or new is old:
            return []
        # Agent clocks and late (outboxed) deliveries may disagree: keep history ordered and never future.
        last = self.since.get(component)
        when = min(max(at, last) if last else at, now)
        self.status[component], self.since[component] = new, when
        return [Transition("component", component, when, old.value if old else "unknown", new.value, cause, component)]

    def _admit(self, ev: WireEvent) -> None:
        c = self._config
        if self._allowed and ev.vantage not in self._allowed:
            raise Rejected("unknown_vantage", f"vantage {ev.vantage!r} is not in aggregate.vantages")
        if ev.vantage not in self.online and len(self.online) >= c.max_vantages:
            raise Rejected("too_many", f"more than {c.max_vantages} vantages")
        if ev.kind == "component":
            if self._known and ev.subject not in self._known:
                raise Rejected("unknown_component", f"component {ev.subject!r} is not configured")
            if ev.subject not in self.reports and len(self.reports) >= c.max_components:
                raise Rejected("too_many", f"more than {c.max_components} components")

    def _order(self, ev: WireEvent, now: datetime, retained: bool) -> None:
        """Drop what is not newer; refuse a seq or an `at` no agent could send (see docs/mqtt.md, Ordering)."""
        c = self._config
        if ev.at > now + timedelta(seconds=c.max_clock_skew):
            raise Rejected("future", f"at {ev.at.isoformat()} is over {c.max_clock_skew:g}s ahead of this clock")
        high = self._high.get(ev.vantage)
        if high is not None and high[0] == ev.stream:
            allowed = c.max_seq_jump + c.max_seq_rate * max(0.0, (ev.at - high[2]).total_seconds())
            if ev.seq > high[1] + allowed:
                raise Rejected("seq_jump", f"seq {ev.seq} is more than {allowed:.0f} past {high[1]}")
        key = (ev.vantage, ev.subject)
        seen = self._seen.get(key)
        if seen is not None:
            stream, seq, at = seen
            if retained and ev.at < at:
                raise Rejected(
                    "stale_retained",
                    f"a retained {ev.subject!r} from {ev.at.isoformat()}, older than "
                    f"the {at.isoformat()} already applied",
                )
            # Not newer: neither a higher seq on the same stream nor a later `at`. A lower seq with a later `at`
            # is taken, so one forged high seq cannot silence the real agent for longer than max_clock_skew.
            # A new stream (the outbox was re-created) starts its numbers again: only its `at` can be compared.
            stale = (ev.seq <= seq and ev.at <= at) if stream == ev.stream else ev.at < at
            if stale:
                raise Duplicate(f"{ev.vantage}/{ev.subject} seq {ev.seq} at {ev.at.isoformat()} is not newer")
        self._seen[key] = (ev.stream, ev.seq, ev.at)
        if high is None or high[0] != ev.stream or ev.seq > high[1]:
            self._high[ev.vantage] = (ev.stream, ev.seq, ev.at)


class Aggregator:
    """Subscribes to the agents' topics, applies the quorum, feeds sinks and serves /metrics."""

    def __init__(
        self,
        mqtt: MqttConfig,
        config: AggregateConfig,
        *,
        components: Iterable[str] = (),
        sinks: Sequence[Sink] = (),
        clock: Clock | None = None,
        on_change: Callable[[list[Transition]], None] | None = None,
    ) -> None:
        self.mqtt, self.config = mqtt, config
        self.view = QuorumView(config, components)
        self.sinks = list(sinks)
        self.on_change = on_change
        self._clock: Clock = clock or SystemClock()
        self._tls = tls_context(mqtt.tls) if mqtt.tls else None
        self.registry = CollectorRegistry()
        r = self.registry
        self._status = Gauge(
            "dialtone_component_status", "Aggregated component status (one-hot).", ["component", "status"], registry=r
        )
        self._rejected = Counter(
            "dialtone_aggregate_rejected", "MQTT payloads rejected, by reason.", ["reason"], registry=r
        )
        self._events = Counter("dialtone_aggregate_events", "Valid events applied, by kind.", ["kind"], registry=r)
        self._duplicates = Counter("dialtone_aggregate_duplicates", "Events dropped as already seen.", registry=r)
        self._vantage = Gauge(
            "dialtone_aggregate_vantage_online", "Whether a vantage's agent is online.", ["vantage"], registry=r
        )
        self._connected = Gauge("dialtone_aggregate_mqtt_connected", "Whether the broker session is up.", registry=r)
        for reason in REASONS:
            self._rejected.labels(reason)
        self._last_log: dict[str, tuple[float, int]] = {}
        self.connected = False

    # --- message handling: synchronous, never raises ------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> list[Transition]:
        """Validate and apply one message; rejects are counted and logged, never raised."""
        try:
            ev = parse_event(self.mqtt.prefix, topic, payload, self.config.max_payload)
            transitions = self.view.apply(ev, self._clock.now(), retained)
        except Rejected as exc:
            self._rejected.labels(exc.reason).inc()
            self._log_reject(exc, topic)
            return []
        except Duplicate:
            self._duplicates.inc()
            return []
        self._events.labels(ev.kind).inc()
        if ev.kind == "agent":
            self._vantage.labels(ev.vantage).set(1 if self.view.online[ev.vantage] else 0)
            self._record_vantage(ev)
        for t in transitions:
            for status in ALL_STATUSES:
                self._status.labels(t.id, status.value).set(1 if status.value == t.new else 0)
            for sink in self.sinks:
                sink.on_transition(t)
        if transitions and self.on_change is not None:
            self.on_change(transitions)
        return transitions

    def rejected_count(self, reason: str) -> float:
        """How many payloads were rejected for `reason`."""
        return self.registry.get_sample_value("dialtone_aggregate_rejected_total", {"reason": reason}) or 0.0

    def _record_vantage(self, ev: WireEvent) -> None:
        for sink in self.sinks:
            record = getattr(sink, "record_event", None)
            if record is not None:
                record("vantage", ev.vantage, self._clock.now(), {"status": ev.status})

    def _log_reject(self, exc: Rejected, topic: str) -> None:
        # A hostile publisher must not flood the log: one line per reason per _LOG_EVERY seconds.
        now = self._clock.monotonic()
        last, muted = self._last_log.get(exc.reason, (float("-inf"), 0))
        if now - last < _LOG_EVERY:
            self._last_log[exc.reason] = (last, muted + 1)
            return
        extra = f" ({muted} more since the last report)" if muted else ""
        log.warning("rejected MQTT message on %r: %s: %s%s", topic[:160], exc.reason, exc.detail, extra)
        self._last_log[exc.reason] = (now, 0)

    # --- I/O ----------------------------------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        m = self.mqtt
        return aiomqtt.Client(
            m.host,
            m.broker_port,
            username=m.username,
            password=m.password.get_secret_value() if m.password else None,
            identifier=m.client_id or f"dialtone-aggregate-{random.getrandbits(32):08x}",
            timeout=m.timeout,
            keepalive=max(1, int(m.keepalive)),
            tls_context=self._tls,
        )

    async def run(self) -> None:
        """Subscribe and apply messages until cancelled, reconnecting with a bounded backoff."""
        failures, last_error = 0, ""
        while True:
            try:
                async with self._client() as client:
                    prefix = self.mqtt.prefix
                    await client.subscribe([(f"{prefix}/+/agent", 1), (f"{prefix}/+/components/+/status", 1)])
                    self.connected, failures, last_error = True, 0, ""
                    self._connected.set(1)
                    log.info("aggregator subscribed at %s:%s", self.mqtt.host, self.mqtt.broker_port)
                    async for msg in client.messages:
                        body = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload or "").encode()
                        self.handle(str(msg.topic), body, bool(msg.retain))
            except aiomqtt.MqttError as exc:
                failures += 1
                if str(exc) != last_error:
                    log.error(
                        "aggregator MQTT session with %s:%s: %s; retrying with backoff",
                        self.mqtt.host,
                        self.mqtt.broker_port,
                        exc,
                    )
                    last_error = str(exc)
            self.connected = False
            self._connected.set(0)
            base = min(self.mqtt.reconnect_max, self.mqtt.reconnect_min * 2 ** min(failures, 30))
            await asyncio.sleep(base * random.uniform(0.75, 1.0))

    async def serve(self) -> web.AppRunner:
        """Serve /metrics (this registry) and /-/healthy on `aggregate.listen`; returns the runner."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/-/healthy", self._healthy)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, _, port = self.config.listen.rpartition(":")
        await web.TCPSite(runner, host.strip("[]"), int(port)).start()
        return runner

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthy(self, request: web.Request) -> web.Response:
        return web.Response(
            text="ok\n" if self.connected else "mqtt disconnected\n", status=200 if self.connected else 503
        )
