"""The composition root: the only module that builds concrete probes and sinks and wires them together."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Info

from agent import __version__
from agent.contract.exclusions import load_exclusions
from agent.contract.metrics import CalendarCollector
from agent.contract.sla import SlaCalculator, SlaReport
from agent.core.clock import Clock, SystemClock
from agent.core.lognoise import suppressed_counts
from agent.core.model import ProbeResult, Sink, TargetState, Transition
from agent.history.schema import HistoryError, open_history
from agent.history.writer import HistoryWriter
from agent.maintenance.calendar import MaintenanceCalendar
from agent.probes import COSTLY_KINDS, KINDS, PROBE_METRICS, ProbeContext
from agent.probes.calls import CallCounters, register_call_metrics
from agent.runtime.app_metrics import (
    CountsCollector,
    HistoryCollector,
    MqttCollector,
    ReloadStatus,
    register_listener_metrics,
)
from agent.runtime.app_restore import STOPPED, read_start_state, restored_cause
from agent.runtime.app_serve import Listeners, StartupError
from agent.runtime.app_sla import MonthToDate
from agent.runtime.config import Config, ConfigError, TargetBase, load_config
from agent.runtime.scheduler import Job, Scheduler
from agent.runtime.shard import select_targets
from agent.runtime.state import MaintenancePredicate, StateMachine, TargetSpec
from agent.runtime.targets import build_jobs, components_of, own_targets
from agent.sinks.prometheus import PrometheusSink, TargetMeta, agent_gauges

__all__ = ["Agent", "StartupError"]

log = logging.getLogger("dialtone")

REFRESH_INTERVAL = 5.0
"""Seconds between re-evaluations of time-driven state (maintenance windows open and close)."""


class Agent:
    """The running agent: scheduler, state, sinks, the HTTP endpoints and the status page."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None = None,
        clock: Clock | None = None,
        maintenance: MaintenancePredicate | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.clock: Clock = clock or SystemClock()
        self.calendar = MaintenanceCalendar(config.maintenance)
        # Read self.calendar at call time, so a reload's new calendar reaches the state machine at once.
        self.maintenance: MaintenancePredicate = maintenance or (lambda c, at: self.calendar.active(c, at))
        self.registry = CollectorRegistry(auto_describe=True)
        Info("dialtone_build", "Build information.", registry=self.registry).info({"version": __version__})
        self.gauges = agent_gauges(self.registry)
        self.call_counters = CallCounters()  # this agent's: two agents in one process never mix their calls
        register_call_metrics(self.registry, self.call_counters)
        self.targets = own_targets(config)
        self.state = self._state_machine(config, self.targets)
        self.prometheus = PrometheusSink(
            config.vantage, PROBE_METRICS, self.registry, lambda: self.state.component_statuses(), self._target_up
        )
        self.history: HistoryWriter | None = None
        self.sinks: list[Sink] = [self.prometheus]
        self.transition_hooks: list[Callable[[Transition], None]] = []
        self.scheduler = Scheduler(
            self.clock,
            self.handle_result,
            concurrency=config.scheduler.concurrency,
            jitter=config.scheduler.jitter,
            coalesce=config.scheduler.coalesce,
            on_lateness=self.prometheus.lateness.observe,
        )
        self.context = ProbeContext(
            vantage=config.vantage,
            clock=self.clock,
            call_counters=self.call_counters,
            device_events=self.device_event,
        )
        """What this agent's probes share; each configured kind's setup adds its resources in start()."""
        self.listeners = Listeners(config_path.parent if config_path else Path("."))
        self.web_reload = ReloadStatus()
        self.sla = SlaCalculator(config.sla, self.calendar)
        self._component_of = {t.id: t.component for t in self.targets}
        self._configured: list[tuple[TargetBase, Job]] = []
        self._closers: list[Callable[[], Any]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = False
        self.month_to_date = MonthToDate(Path(config.history.path), self.clock)
        self._calendar_collector: CalendarCollector | None = None
        self._site: Any = None
        self.stopping = asyncio.Event()
        self.notifier: Any = None
        """The agent.notify Notifier when `notify:` is configured."""
        self._reload_lock = asyncio.Lock()

    # --- the result pipeline --------------------------------------------------------------------------------

    def _state_machine(self, config: Config, targets: list[TargetBase]) -> StateMachine:
        specs = [
            TargetSpec(
                t.id,
                t.component,
                (t.thresholds or config.thresholds).failures,
                (t.thresholds or config.thresholds).successes,
            )
            for t in targets
        ]
        return StateMachine(components_of(config), specs, self.maintenance)

    def _target_up(self) -> dict[str, bool | None]:
        return {
            tid: None if s is TargetState.UNKNOWN else s is TargetState.UP
            for tid, s in self.state.target_states().items()
        }

    def _metas(self, config: Config, targets: list[TargetBase]) -> list[TargetMeta]:
        self.prometheus.set_components({c.id: (c.tier, c.sla_target) for c in components_of(config)})
        return [
            TargetMeta(t.id, t.component, t.kind, KINDS[t.kind].target_labels(t.block, t.labels), t.interval)
            for t in targets
        ]

    def handle_result(self, result: ProbeResult) -> None:
        """Flag maintenance, fold into state, fan out to sinks and transition hooks."""
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

    def device_event(self, event: Any) -> None:
        """An SNMP device event (reboot, link change, trap): recorded; a trap with a state applies at once."""
        if self.history is not None:
            self.history.record_event(event.kind, event.target, event.at, dict(event.data))
        state = {"down": TargetState.DOWN, "up": TargetState.UP}.get(str(event.data.get("state", "")))
        if event.kind == "snmp.trap" and state is not None:
            cause = f"SNMP trap {event.data.get('trap', '')}".strip()
            self._emit(self.state.force(event.target, state, event.at, cause))

    # --- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open history, bind the endpoints, start sinks, extras and the scheduler. Raises StartupError."""
        try:
            path = open_history(self.config.history.path, now=self.clock.now())
        except HistoryError as exc:
            raise StartupError(str(exc)) from None
        h = self.config.history
        self.history = HistoryWriter(
            path,
            results_retention=h.results_retention,
            transitions_retention=h.transitions_retention,
            rollups_retention=h.rollups_retention,
            batch_interval=h.batch_interval,
            clock=self.clock,
        )
        self.sinks.append(self.history)
        self.registry.register(HistoryCollector(self.history))
        self.registry.register(
            CountsCollector(
                "dialtone_log_messages_suppressed",
                "Repeated warning and error lines not logged (rate limit), by logger.",
                "logger",
                suppressed_counts,
            )
        )
        self._start_sla(path)
        self._start_mqtt()
        self.listeners.limit(self.config, min(self.config.scheduler.concurrency, len(self.targets)))
        register_listener_metrics(self.registry, self.listeners, self.web_reload)
        await self.listeners.serve_endpoints(self.config, self._endpoints_args())
        self.web_reload.succeeded()
        await self._start_extras()
        for sink in self.sinks:
            await sink.start()
        self.prometheus.set_targets(self._metas(self.config, self.targets))
        self._restore_start_state(path)
        self._configured = list(zip(self.targets, build_jobs(self.targets, self.context), strict=True))
        self.scheduler.start(job for _, job in self._configured)
        self.gauges["targets"].set(len(self._configured))
        self.gauges["reload_ok"].set(1)
        self.gauges["reload_ts"].set(time.time())
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="state-refresh"))
        self._tasks.append(
            asyncio.create_task(self.month_to_date.run(lambda: (self.config, self.sla)), name="sla-month-to-date")
        )
        self._ready = True
        log.info(
            "dialtone %s started: vantage %s, %d targets, metrics on http://%s/metrics",
            __version__,
            self.config.vantage,
            len(self._configured),
            self.config.listen,
        )

    def _restore_start_state(self, path: Path) -> None:
        """Close what a crash left open, seed the last confirmed states, and record and publish the start state."""
        assert self.history is not None
        try:
            start = read_start_state(path, self.clock.now())
        except HistoryError as exc:
            raise StartupError(str(exc)) from None
        for gap in start.gaps:
            self.history.on_transition(gap)  # history only: the gap is no news for MQTT or Prometheus
        self._emit(self.state.restore(start.targets, self.clock.now(), restored_cause(start)))

    def _start_sla(self, history_path: Path) -> None:
        try:
            self.sla = _sla_calculator(self.config, self.calendar)
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        self.month_to_date.history_path = history_path
        self._calendar_collector = CalendarCollector(
            self.calendar,
            [c.id for c in self.config.components],
            self.month_to_date.report,
            self.clock,
            sla_cache_seconds=0.0,
        )
        self.registry.register(self._calendar_collector)

    def _apply_calendar(self, new: Config) -> None:
        """A reload's maintenance windows and exclusions: calendar, SLA, collector, page and notices switch together."""
        calendar = MaintenanceCalendar(new.maintenance)
        sla = _sla_calculator(new, calendar)  # a broken exclusions file raises before anything changes
        self.calendar, self.sla = calendar, sla
        if self._calendar_collector is not None:
            self._calendar_collector.calendar = calendar
            self._calendar_collector.components = [c.id for c in new.components]
        if self._site is not None:
            self._site.builder.calendar = self._site.renderer.calendar = calendar
            self._site.builder.sla = sla
        if self.notifier is not None:  # a window added by the reload (emergency work) is notified at once
            self.notifier.calendar = calendar
            self.notifier.wake()

    def month_to_date_reports(self, now: datetime) -> dict[str, SlaReport]:
        """Every component's month-to-date SLA from history: blocking SQLite reads, so run it in a thread."""
        return self.month_to_date.compute(self.config, self.sla, now)

    def _start_mqtt(self) -> None:
        if self.config.mqtt is None:
            return
        from agent.sinks.mqtt import MqttSetupError, MqttSink

        try:
            sink = MqttSink(self.config.mqtt, self.config.vantage, clock=self.clock)
        except MqttSetupError as exc:
            raise StartupError(str(exc)) from None
        self.sinks.append(sink)
        self.registry.register(MqttCollector(sink))

    async def _start_extras(self) -> None:
        """What the configured kinds share, trap receiver, demo services and the page: each only when configured."""
        # The SIP transport pool, the SNMP engines...: made by each kind's setup, closed in stop().
        await self.context.setup(t.kind for t in self.targets)
        if self.config.snmp_traps is not None:
            await self._start_traps()
        if self.config.demo and self.config.demo.enabled:
            from agent.runtime import demo

            self.listeners.runners.extend(await demo.start(self.config.demo, self.clock))
            if self.config.demo.sip_port is not None:
                try:
                    platform = await demo.start_sip(self.config.demo, self.clock)
                except OSError as exc:
                    raise StartupError(f"demo: cannot listen on UDP {self.config.demo.sip_port}: {exc}") from None
                self._closers.append(platform.close)
                from agent.runtime.demo_console import CallConsole

                self.sinks.append(CallConsole())
        if self.config.site is not None:
            await self._start_site()

    async def _start_traps(self) -> None:
        from agent.probes.snmp_config import trap_sources
        from agent.snmp.traps import TrapReceiver

        assert self.config.snmp_traps is not None
        sources = trap_sources((t.id, t.block) for t in self.targets)
        receiver = TrapReceiver(self.config.snmp_traps, self.device_event, sources=sources, now=self.clock.now)
        try:
            await receiver.start()
        except OSError as exc:
            raise StartupError(f"snmp_traps: cannot listen on {self.config.snmp_traps.listen}: {exc}") from None
        self._closers.append(receiver.aclose)
        self.registry.register(
            CountsCollector(
                "dialtone_snmp_traps", "SNMP notifications received, by result.", "result", receiver.counters
            )
        )

    async def _start_site(self) -> None:
        from statuspage.output import OutputError, check_owned
        from statuspage.site import StatusSite

        assert self.config.site is not None
        try:
            check_owned(self.config.site.out)  # say so at start, not as a failed render every minute
        except OutputError as exc:
            raise StartupError(str(exc)) from None
        site = self._site = StatusSite(
            self.config.site,
            components_of(self.config),
            Path(self.config.history.path),
            calendar=self.calendar,
            sla=self.sla,
        )
        from statuspage.live import SiteRenderer

        routes = await self._start_notify()

        def model() -> Any:
            # The page reads history: commit what is queued first, so a transition is on the page it triggers.
            if self.history is not None:
                self.history.flush_sync()
            built = site.model(self.clock.now())
            if self.notifier is not None:
                self.notifier.observe(built)  # notices are what the page shows: derived from the same model
            return built

        live = SiteRenderer(
            model,
            site.renderer,
            self.config.site.out,
            interval=self.config.site.render_interval,
            debounce=0.5,
            clock=self.clock,
        )
        self.sinks.append(live)
        self._closers.append(site.close)
        await self.listeners.serve_site(self.config.site, routes)

    async def _start_notify(self) -> list[Any]:
        """The notifier and its subscription routes, when `notify:` is configured."""
        if self.config.notify is None or self.config.site is None:
            return []
        from agent.notify.wiring import NotifySetupError, build_notify

        try:
            parts = build_notify(
                self.config.notify,
                self.calendar,
                self.clock,
                components_of(self.config),
                self.config.site.branding.name,
            )
        except NotifySetupError as exc:
            raise StartupError(str(exc)) from None
        self.notifier = parts.notifier
        await parts.notifier.start()
        self._closers.extend(parts.closers)
        self._closers.append(parts.notifier.aclose)  # closers run last-first: stop the loop, then its stores
        from agent.notify.metrics import NotifyCollector

        self.registry.register(NotifyCollector(parts.notifier))
        return parts.routes

    def _endpoints_args(self) -> dict[str, Any]:
        return {
            "metrics": self.prometheus,
            "probe": self.probe_now,
            "known_target": self._component_of.__contains__,
            "reload": self.reload,
            "ready": lambda: self._ready,
            "refusal": self.probe_refusal,
        }

    async def probe_now(self, target_id: str) -> ProbeResult:
        """Probe a configured target once, now (for /probe); the result is not folded into state. A probe
        that cannot start within half the target's timeout is not started (ProbeBusy): a late start would
        only finish after the caller gave up."""
        job = next(j for t, j in self._configured if t.id == target_id)
        result = await self.scheduler.probe_now(target_id, start_within=job.target.timeout / 2)
        return replace(result, vantage=self.config.vantage)

    def probe_refusal(self, target_id: str) -> str | None:
        """Why /probe may not run `target_id`: a kind that places calls, without the target's on_demand."""
        t = next((t for t in self.targets if t.id == target_id), None)
        if t is not None and t.kind in COSTLY_KINDS and not t.on_demand:
            return (
                f"target {target_id} is a {t.kind} target: /probe would place a real call. "
                "Set on_demand: true on the target to allow it"
            )
        return None

    async def _refresh_loop(self) -> None:
        while True:
            await self.clock.sleep(REFRESH_INTERVAL)
            self.gauges["inflight"].set(self.scheduler.inflight)
            self._emit(self.state.refresh(self.clock.now()))

    async def reload(self) -> tuple[bool, list[str]]:
        """Re-read the config file and web.yml; an invalid one is refused, logged, and the running one kept."""
        async with self._reload_lock:  # parsing runs in a worker now: one reload applies at a time
            return await self._reload()

    async def _reload(self) -> tuple[bool, list[str]]:
        if self.config_path is None:
            return False, ["no config file to reload from"]
        try:
            # Parsing a large config takes seconds of CPU: in a worker thread, so probes and listeners keep
            # their turns on the loop (the interpreter switches threads every few milliseconds).
            new = await asyncio.to_thread(load_config, self.config_path)
            self._apply_calendar(new)
            await self.context.setup(t.kind for t in select_targets(new.targets, self.config.shard))
        except ConfigError as exc:
            return self._refused(exc.errors)
        except ValueError as exc:  # the exclusions file
            return self._refused([str(exc)])
        self.apply(new)
        self.listeners.limit(self.config, min(self.config.scheduler.concurrency, len(self.targets)))
        web_errors = await self.listeners.reload_web(self.config)
        if web_errors:
            self.web_reload.failed()
            for line in web_errors:
                log.error("web config reload refused (the previous one is kept): %s", line)
            return False, web_errors
        self.web_reload.succeeded()
        return True, []

    def _refused(self, errors: list[str]) -> tuple[bool, list[str]]:
        self.gauges["reload_ok"].set(0)
        for line in errors:
            log.error("reload refused: %s", line)
        return False, errors

    def apply(self, new: Config) -> None:
        """Switch to a validated config: unchanged targets keep their loop and their confirmed state."""
        for key in ("listen", "history", "vantage", "demo", "web", "mqtt", "site", "snmp_traps", "shard", "notify"):
            if getattr(new, key) != getattr(self.config, key):
                log.warning("reload: %s changed; it takes effect at the next restart", key)
        targets = select_targets(new.targets, self.config.shard)
        jobs = build_jobs(targets, self.context, self._configured)
        state = self._state_machine(new, targets)
        state.adopt(self.state)
        self.state = state
        self._emit(state.refresh(self.clock.now()))  # a new window masks now, not at the next refresh tick
        self._component_of = {t.id: t.component for t in targets}
        self.prometheus.set_targets(self._metas(new, targets))
        started, stopped, kept = self.scheduler.replace(jobs)
        self.targets, self._configured = targets, list(zip(targets, jobs, strict=True))
        self.config = new.model_copy(
            update={
                k: getattr(self.config, k)
                for k in (
                    "listen",
                    "history",
                    "vantage",
                    "demo",
                    "web",
                    "mqtt",
                    "site",
                    "snmp_traps",
                    "shard",
                    "notify",
                )
            }
        )
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
        """Stop probing, close probes (calls they placed are hung up), flush sinks, close listeners: under 2 s."""
        self._ready = False
        await self.scheduler.stop()
        if self.history is not None:  # from now until the next start nothing is known: record a gap
            for t in self.state.stopped(self.clock.now(), STOPPED):
                self.history.on_transition(t)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.month_to_date.close()
        probes = [job.probe for _, job in self._configured if hasattr(job.probe, "aclose")]
        await _bounded("probes", [p.aclose() for p in probes], 1.0)
        await _bounded("probe resources", [self.context.aclose()], 0.5)  # the SIP sockets, the SNMP engines
        await _bounded("sinks", [s.aclose() for s in self.sinks], 1.0)
        for close in reversed(self._closers):
            result = close()
            if asyncio.iscoroutine(result):
                await _bounded("closers", [result], 0.5)
        await self.listeners.close()


async def _bounded(what: str, coros: list[Any], seconds: float) -> None:
    """Await the coroutines concurrently for at most `seconds`; what is left is cancelled and logged."""
    if not coros:
        return
    tasks = [asyncio.ensure_future(c) for c in coros]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            log.warning("closing %s: %s", what, task.exception())
    if pending:
        log.warning("closing %s: %d did not finish within %.1f s", what, len(pending), seconds)


def _sla_calculator(config: Config, calendar: MaintenanceCalendar) -> SlaCalculator:
    """The SLA calculator for a config; ValueError for an unreadable exclusions file."""
    exclusions = load_exclusions(config.sla.exclusions_file) if config.sla.exclusions_file is not None else []
    return SlaCalculator(config.sla, calendar, exclusions)
