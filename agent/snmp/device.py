"""One poll of one device: uptime and reboots, interfaces, CPU, storage, UPS and OID checks.

The per-device memory between polls (last uptime, counter samples, interface and storage indexes, check
levels) lives in ``DeviceState``, which the probe keeps for as long as its target exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.snmp import mibs
from agent.snmp.client import SnmpClient, Varbind
from agent.snmp.counters import CounterRates
from agent.snmp.events import LINK_DOWN, LINK_UP, REBOOT, THRESHOLD, EventData
from agent.snmp.mibs import Oid, format_oid

GET_CHUNK = 30
"""Variables per GET: small enough that no agent answers tooBig, large enough to keep round trips few."""

_TICKS_WRAP = 1 << 32
_DAY_TICKS = 8_640_000

# Problem codes in the order the result's error is chosen from them (most telling first).
PRECEDENCE = ("interface_down", "threshold_crit", "no_such_object", "snmp_error")

_IF_COLUMNS: tuple[tuple[str, Oid], ...] = (
    ("admin_status", mibs.IF_ADMIN_STATUS),
    ("oper_status", mibs.IF_OPER_STATUS),
    ("in_errors", mibs.IF_IN_ERRORS),
    ("out_errors", mibs.IF_OUT_ERRORS),
    ("in_discards", mibs.IF_IN_DISCARDS),
    ("out_discards", mibs.IF_OUT_DISCARDS),
    ("in_octets", mibs.IF_HC_IN_OCTETS),
    ("out_octets", mibs.IF_HC_OUT_OCTETS),
)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A threshold check on one OID or on a built-in reading (a key of values without 'snmp.')."""

    name: str
    oid: Oid | None = None
    reading: str | None = None
    rate: bool = False
    scale: float = 1.0
    warn: float | None = None
    crit: float | None = None
    below: bool = False


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What to read from a device at each poll."""

    interfaces: tuple[str, ...] = ()
    processor: bool = False
    storage: tuple[str, ...] = ()
    ups: bool = False
    checks: tuple[CheckSpec, ...] = ()
    bulk: bool = True


@dataclass
class DeviceState:
    """What a probe remembers of its device between polls."""

    uptime: int | None = None
    reboots_total: int = 0
    counters: CounterRates = field(default_factory=CounterRates)
    if_index: dict[str, int] = field(default_factory=dict)
    storage_index: dict[str, int] = field(default_factory=dict)
    oper: dict[str, int] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)


@dataclass
class Poll:
    """The outcome of one poll: readings, problems (code, message), warnings and events to raise."""

    values: dict[str, float | int | str | bool] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[tuple[str, EventData]] = field(default_factory=list)

    def error(self) -> tuple[str, str] | None:
        """The (code, message) of the result: the most telling problem, with every problem listed."""
        if not self.problems:
            return None
        code = min((c for c, _ in self.problems), key=PRECEDENCE.index)
        return code, "; ".join(m for _, m in self.problems)


async def get_many(client: SnmpClient, oids: Sequence[Oid]) -> dict[Oid, Varbind]:
    """GET any number of OIDs, in chunks; returns them by OID."""
    out: dict[Oid, Varbind] = {}
    for i in range(0, len(oids), GET_CHUNK):
        for vb in await client.get(oids[i : i + GET_CHUNK]):
            out[vb.oid] = vb
    return out


async def poll(client: SnmpClient, spec: PollSpec, state: DeviceState, now: float) -> Poll:
    """Read everything `spec` asks for; SnmpError (timeout, auth_failed...) propagates to the probe."""
    p = Poll()
    scalars = [mibs.SYS_UPTIME]
    if spec.ups:
        scalars += [
            mibs.UPS_BATTERY_STATUS,
            mibs.UPS_CHARGE_REMAINING,
            mibs.UPS_SECONDS_ON_BATTERY,
            mibs.UPS_MINUTES_REMAINING,
        ]
    scalars += [c.oid for c in spec.checks if c.oid is not None]
    got = await get_many(client, scalars)
    _uptime(got.get(mibs.SYS_UPTIME), state, p)
    if spec.ups:
        _ups(got, p)
    if spec.interfaces:
        await _interfaces(client, spec, state, now, p)
    if spec.processor:
        await _processor(client, spec, p)
    if spec.storage:
        await _storage(client, spec, state, p)
    for check in spec.checks:
        _check(check, got, state, now, p)
    return p


def _uptime(vb: Varbind | None, state: DeviceState, p: Poll) -> None:
    if vb is None or not isinstance(vb.value, int):
        p.problems.append(("no_such_object", "sysUpTime.0 is missing"))
        return
    ticks, previous = vb.value, state.uptime
    reboot = previous is not None and ticks < previous and not _ticks_wrapped(previous, ticks)
    if reboot and previous is not None:
        state.reboots_total += 1
        state.counters.reset()
        state.if_index.clear()
        state.storage_index.clear()
        p.events.append((REBOOT, {"uptime_before_seconds": previous / 100, "uptime_seconds": ticks / 100}))
    state.uptime = ticks
    p.values["snmp.sys_uptime_seconds"] = ticks / 100
    p.values["reboot"] = reboot
    p.values["reboots_total"] = state.reboots_total


def _ticks_wrapped(previous: int, ticks: int) -> bool:
    # TimeTicks wrap after 497 days; near the top a smaller value is a wrap, not a restart.
    return previous > _TICKS_WRAP - _DAY_TICKS and ticks < _DAY_TICKS


def _ups(got: dict[Oid, Varbind], p: Poll) -> None:
    status = got.get(mibs.UPS_BATTERY_STATUS)
    if status is None or not isinstance(status.value, int):
        p.problems.append(("no_such_object", "UPS-MIB upsBatteryStatus.0 is missing: is this a UPS?"))
        return
    p.values["snmp.ups.battery_status"] = status.value
    name = mibs.UPS_BATTERY.get(status.value, str(status.value))
    if status.value == 3:
        p.warnings.append("UPS battery low")
    elif status.value == 4:
        p.problems.append(("threshold_crit", f"UPS battery {name}"))
    for oid, key, scale in (
        (mibs.UPS_CHARGE_REMAINING, "snmp.ups.charge_ratio", 0.01),
        (mibs.UPS_SECONDS_ON_BATTERY, "snmp.ups.seconds_on_battery", 1.0),
        (mibs.UPS_MINUTES_REMAINING, "snmp.ups.runtime_remaining_seconds", 60.0),
    ):
        vb = got.get(oid)
        if vb is not None and isinstance(vb.value, int):
            p.values[key] = vb.value * scale
    if p.values.get("snmp.ups.seconds_on_battery", 0):
        p.warnings.append("UPS on battery")


async def _index_by_name(client: SnmpClient, columns: Sequence[Oid], bulk: bool) -> dict[str, int]:
    """name -> row index, from the first column that names it (ifName before ifDescr)."""
    found: dict[str, int] = {}
    for column in columns:
        for vb in await client.walk(column, bulk=bulk):
            if isinstance(vb.value, str) and len(vb.oid) == len(column) + 1:
                found.setdefault(vb.value, vb.oid[-1])
    return found


async def _interfaces(client: SnmpClient, spec: PollSpec, state: DeviceState, now: float, p: Poll) -> None:
    if any(n not in state.if_index for n in spec.interfaces):
        state.if_index = await _index_by_name(client, (mibs.IF_NAME, mibs.IF_DESCR), spec.bulk)
    wanted = [(n, state.if_index[n]) for n in spec.interfaces if n in state.if_index]
    for name in spec.interfaces:
        if name not in state.if_index:
            p.problems.append(("no_such_object", f"interface {name!r} not found by ifName or ifDescr"))
    got = await get_many(client, [(*col, idx) for _, idx in wanted for _, col in _IF_COLUMNS])
    for name, idx in wanted:
        row = {key: got.get((*col, idx)) for key, col in _IF_COLUMNS}
        admin, oper = row["admin_status"], row["oper_status"]
        if admin is None or oper is None or admin.value is None or oper.value is None:
            state.if_index.pop(name, None)  # re-indexed (hot swap, restart): look it up again next poll
            p.problems.append(("no_such_object", f"interface {name!r} (ifIndex {idx}) vanished"))
            continue
        _interface_row(name, row, state, now, p)


def _interface_row(name: str, row: dict[str, Varbind | None], state: DeviceState, now: float, p: Poll) -> None:
    prefix = f"snmp.if.{name}."
    admin, oper = int(row["admin_status"].value), int(row["oper_status"].value)  # type: ignore[union-attr,arg-type]
    p.values[prefix + "admin_status"] = admin
    p.values[prefix + "oper_status"] = oper
    if admin == 1 and oper != 1:
        p.problems.append(("interface_down", f"interface {name} is {mibs.IF_STATUS.get(oper, oper)} while admin up"))
    before = state.oper.get(name)
    if before is not None and (before == 1) != (oper == 1):
        kind = LINK_UP if oper == 1 else LINK_DOWN
        p.events.append(
            (kind, {"interface": name, "oper_status": mibs.IF_STATUS.get(oper, str(oper)), "source": "poll"})
        )
    state.oper[name] = oper
    for key, vb in row.items():
        if vb is None or vb.kind not in ("counter32", "counter64") or not isinstance(vb.value, int):
            continue
        bits = 64 if vb.kind == "counter64" else 32
        rate = state.counters.rate(f"if.{name}.{key}", vb.value, bits, now)
        if rate is not None:
            p.values[f"{prefix}{key}_per_second"] = rate


async def _processor(client: SnmpClient, spec: PollSpec, p: Poll) -> None:
    loads = [vb.value for vb in await client.walk(mibs.HR_PROCESSOR_LOAD, bulk=spec.bulk) if isinstance(vb.value, int)]
    if not loads:
        p.problems.append(("no_such_object", "hrProcessorLoad table is empty"))
        return
    p.values["snmp.cpu.load_ratio"] = sum(loads) / len(loads) / 100
    p.values["snmp.cpu.max_load_ratio"] = max(loads) / 100


async def _storage(client: SnmpClient, spec: PollSpec, state: DeviceState, p: Poll) -> None:
    if any(n not in state.storage_index for n in spec.storage):
        state.storage_index = await _index_by_name(client, (mibs.HR_STORAGE_DESCR,), spec.bulk)
    cols = (mibs.HR_STORAGE_ALLOCATION_UNITS, mibs.HR_STORAGE_SIZE, mibs.HR_STORAGE_USED)
    wanted = [(n, state.storage_index[n]) for n in spec.storage if n in state.storage_index]
    got = await get_many(client, [(*c, idx) for _, idx in wanted for c in cols])
    for name in spec.storage:
        idx = state.storage_index.get(name)
        vals = [got.get((*c, idx)) for c in cols] if idx is not None else []
        if idx is None or not all(v is not None and isinstance(v.value, int) for v in vals):
            state.storage_index.pop(name, None)
            p.problems.append(("no_such_object", f"storage {name!r} not found by hrStorageDescr"))
            continue
        units, size, used = (int(v.value) for v in vals)  # type: ignore[union-attr,arg-type]
        p.values[f"snmp.storage.{name}.size_bytes"] = size * units
        p.values[f"snmp.storage.{name}.used_bytes"] = used * units
        if size > 0:
            p.values[f"snmp.storage.{name}.used_ratio"] = used / size


def _check(check: CheckSpec, got: dict[Oid, Varbind], state: DeviceState, now: float, p: Poll) -> None:
    value = _check_value(check, got, state, now, p)
    if value is None:
        return
    p.values[f"snmp.{check.name}"] = value
    level = "ok"
    if check.crit is not None and (value <= check.crit if check.below else value >= check.crit):
        level = "crit"
        p.problems.append(("threshold_crit", f"{check.name} = {value:g} crosses crit {check.crit:g}"))
    elif check.warn is not None and (value <= check.warn if check.below else value >= check.warn):
        level = "warn"
        p.warnings.append(f"{check.name} = {value:g} crosses warn {check.warn:g}")
    previous = state.levels.get(check.name, "ok")
    if level != previous:
        p.events.append((THRESHOLD, {"check": check.name, "level": level, "previous": previous, "value": value}))
    state.levels[check.name] = level


def _check_value(check: CheckSpec, got: dict[Oid, Varbind], state: DeviceState, now: float, p: Poll) -> float | None:
    if check.reading is not None:
        raw = p.values.get(f"snmp.{check.reading}")
        return None if raw is None or isinstance(raw, str) else float(raw) * check.scale
    assert check.oid is not None
    vb = got.get(check.oid)
    if vb is None or vb.value is None:
        p.problems.append(("no_such_object", f"check {check.name}: {format_oid(check.oid)} does not exist"))
        return None
    try:
        number = float(vb.value)
    except ValueError:
        p.problems.append(("snmp_error", f"check {check.name}: {format_oid(check.oid)} is not a number"))
        return None
    if check.rate:
        if vb.kind not in ("counter32", "counter64"):
            p.problems.append(("snmp_error", f"check {check.name}: rate needs a counter, got {vb.kind}"))
            return None
        rate = state.counters.rate(f"check.{check.name}", int(number), 64 if vb.kind == "counter64" else 32, now)
        return None if rate is None else rate * check.scale
    return number * check.scale
