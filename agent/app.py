"""The composition root: the only module that builds concrete probes and sinks and wires them together."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Info

from agent import __version__
from agent.clock import Clock, SystemClock
from agent.config import Config, ConfigError, TargetBase, load_config
from agent.model import Component, ProbeResult, Sink, Target, TargetState, Transition
from agent.probes import PROBE_METRICS, PROBES, ProbeContext
from agent.scheduler import Job, Scheduler
from agent.server import Endpoints, build_app
from agent.sinks.history import HistoryWriter
from agent.sinks.history_schema import HistoryError, open_history
from agent.sinks.prometheus import PrometheusSink, TargetMeta, agent_gauges
from agent.state import MaintenancePredicate, StateMachine, TargetSpec, never_in_maintenance
from agent.web import WebConfigError, basic_auth_middleware, load_web_file, server_ssl_context

log = logging.getLogger("dialtone")

REFRESH_INTERVAL = 5.0
"""Seconds between re-evaluations of time-driven state (maintenance windows open and close)."""


class StartupError(Exception):
    """The agent cannot start (unwritable history, port in use...); the CLI exits 2 with this message."""


def components_of(config: Config) -> list[Component]:
    """Model components from config."""
    return [
        Component(c.id, c.name, c.group, c.tier or "custom", c.target_percent / 100.0, c.description)
        for c in config.components
    ]


def target_of(t: TargetBase) -> Target:
    """The model target a probe sees."""
    return Target(t.id, t.component, t.kind, t.timeout, dict(t.labels))


def build_probe(t: TargetBase, context: ProbeContext) -> Any:
    """A probe instance for one configured target."""
    return PROBES[t.kind](t.block, context)


def build_jobs(config: Config, context: ProbeContext, keep: Iterable[tuple[TargetBase, Job]] = ()) -> list[Job]:
    """Jobs for every configured target, reusing the running job of any target whose config is unchanged."""
    previous = {t.id: (t, job) for t, job in keep}
    jobs = []
    for t in config.targets:
        old = previous.get(t.id)
        jobs.append(old[1] if old and old[0] == t else Job(target_of(t), build_probe(t, context), t.interval))
    return jobs


class Agent:
    """The running agent: scheduler, state, sinks and the HTTP endpoints."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None = None,
        clock: Clock | None = None,
        maintenance: MaintenancePredicate = never_in_maintenance,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self._config_dir = config_path.parent if config_path else Path(".")
        self.clock: Clock = clock or SystemClock()
        self.maintenance = maintenance
        self.registry = CollectorRegistry(auto_describe=True)
        Info("dialtone_build", "Build information.", registry=self.registry).info({"version": __version__})
        self.gauges = agent_gauges(self.registry)
        self.context = ProbeContext(vantage=config.vantage)
        self.state = self._state_machine(config)
        self.prometheus = PrometheusSink(
            config.vantage, PROBE_METRICS, self.registry, lambda: self.state.component_statuses(), self._target_up
        )
        self.history: HistoryWriter | None = None
        self.sinks: list[Sink] = [self.prometheus]
        self.transition_hooks: list[Callable[[Transition], None]] = []
        self.scheduler = Scheduler(
            self.clock, self.handle_result, concurrency=config.scheduler.concurrency,
            jitter=config.scheduler.jitter, on_lateness=self.prometheus.lateness.observe,
        )
        self._configured: list[tuple[TargetBase, Job]] = []
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = False
        self.stopping = asyncio.Event()

    # --- wiring ---------------------------------------------------------------------------------------------

    def _state_machine(self, config: Config) -> StateMachine:
        specs = [
            TargetSpec(t.id, t.component, (t.thresholds or config.thresholds).failures,
                       (t.thresholds or config.thresholds).successes)
            for t in config.targets
        ]
        return StateMachine(components_of(config), specs, self.maintenance)

    def _target_up(self) -> dict[str, bool | None]:
        return {
            tid: None if s is TargetState.UNKNOWN else s is TargetState.UP
            for tid, s in self.state.target_states().items()
        }

    def _metas(self, config: Config) -> list[TargetMeta]:
        self.prometheus.set_components({c.id: (c.tier, c.sla_target) for c in components_of(config)})
        return [TargetMeta(t.id, t.component, t.kind, dict(t.labels), t.interval) for t in config.targets]

    def handle_result(self, result: ProbeResult) -> None:
        """The result pipeline: flag maintenance, fold into state, fan out to sinks and transition hooks."""
        component = self._component_of.get(result.target, "")
        result = replace(
            result, vantage=self.config.vantage, maintenance=self.maintenance(component, result.started_at)
        )
        transitions = self.state.observe(result)
        for sink in self.sinks:
            sink.on_result(result)
        self._emit(transitions)

    def _emit(self, transitions: list[Transition]) -> None:
        for t in transitions:
            log.info("%s %s: %s -> %s (%s)", t.subject, t.id, t.old, t.new, t.cause)
            for sink in self.sinks:
                sink.on_transition(t)
            for hook in self.transition_hooks:
                hook(t)

    # --- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open history, bind the endpoints, start demo services and the scheduler. Raises StartupError."""
        self._component_of = {t.id: t.component for t in self.config.targets}
        try:
            path = open_history(self.config.history.path, now=self.clock.now())
        except HistoryError as exc:
            raise StartupError(str(exc)) from None
        h = self.config.history
        self.history = HistoryWriter(
            path, results_retention=h.results_retention, transitions_retention=h.transitions_retention,
            rollups_retention=h.rollups_retention, batch_interval=h.batch_interval, clock=self.clock,
        )
        self.sinks.append(self.history)
        self.registry.register(_HistoryCollector(self.history))
        await self._serve_endpoints()
        if self.config.demo and self.config.demo.enabled:
            from agent import demo

            self._runners.extend(await demo.start(self.config.demo, self.clock))
        for sink in self.sinks:
            await sink.start()
        self.prometheus.set_targets(self._metas(self.config))
        self._configured = list(zip(self.config.targets, build_jobs(self.config, self.context), strict=True))
        self.scheduler.start(job for _, job in self._configured)
        self.gauges["targets"].set(len(self._configured))
        self.gauges["reload_ok"].set(1)
        self.gauges["reload_ts"].set(time.time())
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="state-refresh"))
        self._ready = True
        log.info("dialtone %s started: vantage %s, %d targets, metrics on http://%s/metrics",
                 __version__, self.config.vantage, len(self._configured), self.config.listen)

    async def _serve_endpoints(self) -> None:
        cfg = self.config.web
        ssl_context, middlewares = None, []
        if cfg.config_file is not None:
            path = cfg.config_file if cfg.config_file.is_absolute() else self._config_dir / cfg.config_file
            try:
                web_file = load_web_file(path)
                if web_file.tls_server_config is not None:
                    ssl_context = server_ssl_context(web_file.tls_server_config)
            except WebConfigError as exc:
                raise StartupError("; ".join(exc.errors)) from None
            if web_file.basic_auth_users:
                middlewares.append(basic_auth_middleware(web_file.basic_auth_users))
        await self._serve(self.config.listen, build_app(self._endpoints(), middlewares), ssl_context)

    async def _serve(self, listen: str, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, int(port), reuse_address=True, ssl_context=ssl_context).start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
        self._runners.append(runner)

    def _endpoints(self) -> Endpoints:
        return Endpoints(
            metrics=self.prometheus,
            probe=self.probe_now,
            known_target=lambda tid: tid in self._component_of,
            reload=self.reload,
            ready=lambda: self._ready,
            reload_enabled=self.config.web.enable_reload,
            probe_rate=self.config.web.probe_rate_limit,
        )

    async def probe_now(self, target_id: str) -> ProbeResult:
        """Probe a configured target once, now (for /probe); the result is not folded into state."""
        result = await self.scheduler.probe_now(target_id)
        return replace(result, vantage=self.config.vantage)

    async def _refresh_loop(self) -> None:
        while True:
            await self.clock.sleep(REFRESH_INTERVAL)
            self.gauges["inflight"].set(self.scheduler.inflight)
            self._emit(self.state.refresh(self.clock.now()))

    async def reload(self) -> tuple[bool, list[str]]:
        """Re-read the config file; an invalid one is refused, logged, and the running one kept."""
        if self.config_path is None:
            return False, ["no config file to reload from"]
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            self.gauges["reload_ok"].set(0)
            for line in exc.errors:
                log.error("reload refused: %s", line)
            return False, exc.errors
        self.apply(new)
        return True, []

    def apply(self, new: Config) -> None:
        """Switch to a validated config: unchanged targets keep their loop and their confirmed state."""
        for key in ("listen", "history", "vantage", "demo"):
            if getattr(new, key) != getattr(self.config, key):
                log.warning("reload: %s changed; it takes effect at the next restart", key)
        jobs = build_jobs(new, self.context, self._configured)
        state = self._state_machine(new)
        state.adopt(self.state)
        self.state = state
        self._component_of = {t.id: t.component for t in new.targets}
        self.prometheus.set_targets(self._metas(new))
        started, stopped, kept = self.scheduler.replace(jobs)
        self._configured = list(zip(new.targets, jobs, strict=True))
        self.config = replace_config(self.config, new)
        self.gauges["targets"].set(len(jobs))
        self.gauges["reload_ok"].set(1)
        self.gauges["reload_ts"].set(time.time())
        log.info("config reloaded: %d targets started, %d stopped, %d unchanged", started, stopped, kept)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT; SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._tasks.append(asyncio.create_task(self._sighup())))
        try:
            await self.stopping.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    async def _sighup(self) -> None:
        log.info("SIGHUP: reloading %s", self.config_path)
        await self.reload()

    async def stop(self) -> None:
        """Stop probing, flush sinks and close listeners; bounded so shutdown takes under 2 s."""
        self._ready = False
        await self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sink in self.sinks:
            try:
                async with asyncio.timeout(1.0):
                    await sink.aclose()
            except TimeoutError:
                log.warning("sink %s did not close within 1 s", type(sink).__name__)
        for runner in self._runners:
            await runner.cleanup()


def replace_config(old: Config, new: Config) -> Config:
    """The config in force after a reload: the new one, except keys that need a restart."""
    return new.model_copy(update={"listen": old.listen, "history": old.history, "vantage": old.vantage,
                                  "demo": old.demo})


class _HistoryCollector:
    """Exports the history writer's health counters at scrape time."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer

    def collect(self) -> Iterable[Any]:
        """Yield the history families."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        w = self.writer
        yield CounterMetricFamily("dialtone_history_write_errors", "Failed history writes.", value=w.write_errors)
        yield CounterMetricFamily("dialtone_history_dropped", "Records dropped because the queue was full.",
                                  value=w.dropped)
        yield GaugeMetricFamily("dialtone_history_queue_depth", "Records waiting to be written.",
                                value=w.queue_depth)
        yield GaugeMetricFamily("dialtone_history_last_flush_seconds", "Duration of the last batch write.",
                                value=w.last_flush_seconds)
