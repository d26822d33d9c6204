"""The MQTT sink: state changes published at QoS 1 through a durable SQLite outbox, on aiomqtt.

Topics (prefix `dialtone/v1` by default; payloads in docs/mqtt.md):
  {prefix}/{vantage}/targets/{target}/state          retained, on change
  {prefix}/{vantage}/components/{component}/status   retained, on change
  {prefix}/{vantage}/results/{target}                every result when `publish_results`, not retained
  {prefix}/{vantage}/agent                           online; offline via the Last Will (retained)

`on_transition` commits to the outbox and returns; a background task publishes in order and deletes a
message only after its PUBACK. Delivery is at-least-once: consumers drop duplicates by (`stream`, `seq`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import ssl
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from agent.core.clock import Clock, SystemClock
from agent.core.model import ProbeResult, Transition
from agent.sinks.mqtt_config import MqttConfig, MqttSetupError, MqttTlsConfig, tls_context
from agent.sinks.outbox import Outbox, OutboxError, OutboxItem

__all__ = ["MqttConfig", "MqttSetupError", "MqttSink", "MqttTlsConfig", "Topics", "tls_context"]

log = logging.getLogger("dialtone.mqtt")
# paho's own socket-level messages (TLS alerts and the like), kept apart so they can be tuned separately.
_PAHO_LOG = logging.getLogger("dialtone.mqtt.paho")

SCHEMA_VERSION = 1


def level(name: str) -> str:
    """One topic level: characters MQTT gives a meaning ('/', '+', '#') are percent-encoded."""
    return quote(name, safe="-_.~@:") if name else "_"


class Topics:
    """The topic names of one vantage."""

    def __init__(self, prefix: str, vantage: str) -> None:
        self.base = f"{prefix}/{level(vantage)}"
        self.agent = f"{self.base}/agent"

    def target_state(self, target: str) -> str:
        """Retained target state topic."""
        return f"{self.base}/targets/{level(target)}/state"

    def component_status(self, component: str) -> str:
        """Retained component status topic."""
        return f"{self.base}/components/{level(component)}/status"

    def result(self, target: str) -> str:
        """Per-result topic (not retained)."""
        return f"{self.base}/results/{level(target)}"


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


class MqttSink:
    """Sink publishing transitions (durably) and optionally results to an MQTT broker."""

    def __init__(self, config: MqttConfig, vantage: str, *, clock: Clock | None = None) -> None:
        self.config = config
        self.vantage = vantage
        self.topics = Topics(config.prefix, vantage)
        self._clock: Clock = clock or SystemClock()
        self._tls = tls_context(config.tls) if config.tls else None
        try:
            self._outbox = Outbox(config.outbox)
        except OutboxError as exc:
            raise MqttSetupError(str(exc)) from None
        self._results: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_logged = ""
        self.connected = False
        """True while a session with the broker is up (`dialtone_mqtt_connected`)."""
        self.published_total = 0
        """Messages the broker acknowledged (`dialtone_mqtt_published_total`)."""
        self.publish_errors_total = 0
        """Publishes that failed or were cut off by a lost connection (`dialtone_mqtt_publish_errors_total`)."""
        self.connect_failures_total = 0
        """Connection attempts that failed (refused, timed out, rejected by CONNACK)."""
        self.results_dropped_total = 0
        """Results thrown away because the in-memory results queue was full."""
        self.last_error = ""
        """The last connection or publish error, for logs and /-/healthy."""

    @property
    def outbox_depth(self) -> int:
        """Events waiting for the broker's acknowledgement (`dialtone_mqtt_outbox_depth`)."""
        return self._outbox.depth

    # --- Sink: synchronous, never blocks on the broker ----------------------------------------------------

    def on_transition(self, transition: Transition) -> None:
        """Commit the state change to the outbox and wake the publisher."""
        if transition.subject == "target":
            topic = self.topics.target_state(transition.id)
            body: dict[str, Any] = {"type": "target_state", "target": transition.id, "state": transition.new}
        else:
            topic = self.topics.component_status(transition.id)
            body = {"type": "component_status", "status": transition.new}
        body.update(component=transition.component or transition.id, previous=transition.old)
        body["cause"] = transition.cause
        self._outbox.put(topic, self._payload(body, transition.at), retain=True)
        self._wake.set()

    def on_result(self, result: ProbeResult) -> None:
        """Queue the result for its (non-retained) topic when enabled; drop it, counted, when full."""
        if not self.config.publish_results:
            return
        if len(self._results) >= self.config.results_queue:
            self.results_dropped_total += 1
            return
        body = {"type": "result", "target": result.target, "result": result.to_json()}
        self._results.append((self.topics.result(result.target), self._payload(body, result.started_at)))
        self._wake.set()

    async def start(self) -> None:
        """Start the background publisher; returns at once, connected or not."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"dialtone-mqtt-{self.vantage}")

    async def aclose(self) -> None:
        """Publish what is queued (up to `close_timeout` while connected), say offline, stop, close."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            if self.connected:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), self.config.close_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.connected = False
        self._outbox.close()

    # --- payloads -----------------------------------------------------------------------------------------

    def _payload(self, body: Mapping[str, Any], at: datetime) -> bytes:
        head = {
            "schema": SCHEMA_VERSION,
            "id": uuid.uuid4().hex,
            "seq": self._outbox.next_seq(),
            "stream": self._outbox.stream,
            "vantage": self.vantage,
            "at": at.isoformat(),
        }
        return _ENCODE({**head, **body}).encode()

    def _agent_payload(self, status: str) -> bytes:
        return self._payload({"type": "agent", "status": status}, self._clock.now())

    # --- publisher ----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            try:
                await self._session()
                failures = 0
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
                failures += 1
                self._failed(exc)
            self.connected = False
            if self._closing:
                return
            base = min(self.config.reconnect_max, self.config.reconnect_min * 2 ** min(failures, 30))
            # Jitter spreads the reconnects of many agents after a broker restart.
            await asyncio.sleep(base * random.uniform(0.75, 1.0))

    def _client(self) -> tuple[aiomqtt.Client, bytes]:
        c = self.config
        online, offline = self._agent_payload("online"), self._agent_payload("offline")
        client = aiomqtt.Client(
            c.host,
            c.broker_port,
            username=c.username,
            password=c.password.get_secret_value() if c.password else None,
            identifier=c.client_id or f"dialtone-{self.vantage}",
            will=aiomqtt.Will(self.topics.agent, offline, qos=1, retain=True),
            timeout=c.timeout,
            keepalive=max(1, int(c.keepalive)),
            tls_context=self._tls,
            max_inflight_messages=c.inflight,
            logger=_PAHO_LOG,
            # Without it Nagle holds small PUBLISH packets back for the peer's delayed ACK (~40 ms).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # aiomqtt warns about "pending calls" above this; our window is bounded by `inflight` anyway.
        client.pending_calls_threshold = c.inflight + 2
        return client, online

    async def _session(self) -> None:
        client, online = self._client()
        async with client:
            self.connected = True
            if self._last_logged:
                log.info("MQTT connected to %s:%s again", self.config.host, self.config.broker_port)
            self._last_logged = ""
            await client.publish(self.topics.agent, online, qos=1, retain=True)
            watch = asyncio.create_task(_until_disconnected(client))
            pump = asyncio.create_task(self._pump(client))
            try:
                await asyncio.wait({watch, pump}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (watch, pump):
                    t.cancel()
                await asyncio.gather(watch, pump, return_exceptions=True)
            if not pump.cancelled() and pump.exception() is None:
                # Closing with everything delivered: a clean DISCONNECT suppresses the will, so say it.
                await client.publish(self.topics.agent, self._agent_payload("offline"), qos=1, retain=True)
                return
            exc = pump.exception() if not pump.cancelled() else None
            exc = exc or (watch.exception() if not watch.cancelled() else None)
            raise exc or aiomqtt.MqttError("connection lost")

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            items = self._outbox.peek(self.config.inflight)
            results: list[tuple[str, bytes]] = []
            while self._results and len(items) + len(results) < self.config.inflight:
                results.append(self._results.popleft())
            if not items and not results:
                if self._closing:
                    return
                await self._wake.wait()
                continue
            await self._send(client, items, results)

    async def _send(self, client: aiomqtt.Client, items: list[OutboxItem], results: list[tuple[str, bytes]]) -> None:
        timeout = self.config.timeout
        # Started in order on one connection, so the broker receives (and forwards) them in order.
        calls = [client.publish(i.topic, i.payload, qos=1, retain=i.retain, timeout=timeout) for i in items]
        calls += [client.publish(t, p, qos=1, timeout=timeout) for t, p in results]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        # Only the acknowledged prefix leaves the outbox, so a resend can never overtake an earlier event.
        acked: list[OutboxItem] = []
        for item, out in zip(items, outcomes, strict=False):
            if isinstance(out, BaseException):
                break
            acked.append(item)
        self._outbox.ack(acked)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        self.published_total += len(outcomes) - len(errors)
        if errors:
            self.publish_errors_total += len(errors)
            raise errors[0]

    def _failed(self, exc: BaseException) -> None:
        where = f"{self.config.host}:{self.config.broker_port}"
        if isinstance(exc, MqttConnectError):
            self.connect_failures_total += 1
            msg = f"MQTT broker {where} refused the connection (CONNACK): {exc}"
        elif not self.connected:
            self.connect_failures_total += 1
            msg = f"MQTT broker {where} unreachable: {exc or type(exc).__name__}"
        else:
            msg = f"MQTT connection to {where} lost: {exc or type(exc).__name__}"
        self.last_error = msg
        # One clear line per distinct problem; the retries that follow stay quiet until it changes.
        if msg != self._last_logged:
            log.error("%s; %d event(s) kept in the outbox, retrying with backoff", msg, self.outbox_depth)
            self._last_logged = msg
        else:
            log.debug("%s (still)", msg)


async def _until_disconnected(client: aiomqtt.Client) -> None:
    # The publisher subscribes to nothing: the message iterator only ends when the connection drops.
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("connection lost")
