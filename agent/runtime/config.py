"""YAML to frozen pydantic v2 models. Unknown keys are rejected; every error names file, key path and why.

Secrets: any string may be written as ``${ENV_VAR}``; a secret field ``password`` may instead be given as
``password_file: path`` (relative to the config file). Secret values are ``SecretStr`` and never printed:
error messages carry the key path and the reason, never the input value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from agent.aggregate.config import AggregateConfig
from agent.contract.sla_config import SlaConfig
from agent.core.config_base import ConfigModel, Duration, Identifier, LabelName, loading_from, parse_duration
from agent.core.config_secrets import iter_secrets, secret_forms
from agent.core.config_yaml import MAX_CONFIG_BYTES, YamlLimitError, load_bounded
from agent.core.redact import add_secrets
from agent.maintenance.calendar import MaintenanceConfig
from agent.notify.config import NotifyConfig
from agent.probes import COSTLY_KINDS, PROBE_CONFIGS
from agent.runtime.config_paths import CONFIG_FILE, overlaps, site_overlaps
from agent.runtime.shard import ShardSpec
from agent.sinks.mqtt_config import MqttConfig
from agent.snmp.traps_config import TrapReceiverConfig
from statuspage.config import SiteConfig

__all__ = [
    "Config",
    "ConfigError",
    "ConfigModel",
    "Duration",
    "Identifier",
    "iter_secrets",
    "parse_duration",
    "secret_forms",
]

# --- errors -------------------------------------------------------------------------------------------------


class ConfigError(Exception):
    """One or more problems with a config file; `errors` holds one line each."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def format_loc(loc: Sequence[int | str]) -> str:
    """('targets', 3, 'http', 'timeout') -> 'targets[3].http.timeout'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


class PathError(ValueError):
    """A validation error found at a deeper key than the validator that raised it (cross-references)."""

    def __init__(self, loc: tuple[int | str, ...], reason: str) -> None:
        super().__init__(reason)
        self.loc = loc
        self.reason = reason


def _messages(exc: ValidationError, source: str, known_blocks: frozenset[str]) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        msg = err["msg"]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, PathError):
            loc, msg = [*loc, *cause.loc], cause.reason
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif msg.startswith("Assertion failed, "):
            msg = msg[len("Assertion failed, ") :]
        line = f"{source}: {format_loc(loc)}: {msg}"
        if line not in lines:
            lines.append(line)
    return lines


# --- the model ----------------------------------------------------------------------------------------------

TIER_TARGETS: Mapping[str, float] = {"core": 99.99, "voice_messaging": 99.95, "supporting": 98.0}


class ComponentConfig(ConfigModel):
    """A customer-visible service."""

    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    group: str = ""
    description: str = ""
    tier: Literal["core", "voice_messaging", "supporting"] | None = None
    sla_target: float | None = Field(default=None, gt=0, le=100, description="percent, e.g. 99.95")

    @model_validator(mode="after")
    def _tier_or_target(self) -> ComponentConfig:
        if self.tier is None and self.sla_target is None:
            raise ValueError("give a tier (core, voice_messaging, supporting) or an explicit sla_target")
        return self

    @property
    def target_percent(self) -> float:
        """The SLA target in percent: the explicit one, else the tier's."""
        if self.sla_target is not None:
            return self.sla_target
        assert self.tier is not None
        return TIER_TARGETS[self.tier]


class ThresholdsConfig(ConfigModel):
    """Consecutive results needed to confirm a state change (hysteresis against flapping)."""

    failures: int = Field(default=2, ge=1, le=100)
    successes: int = Field(default=1, ge=1, le=100)


class TargetBase(ConfigModel):
    """Fields shared by every target; the kind's own block is added per registered kind."""

    id: Identifier
    component: Identifier
    kind: str
    interval: Duration = 30.0
    timeout: Duration = 5.0
    labels: dict[LabelName, str] = Field(default_factory=dict)
    thresholds: ThresholdsConfig | None = None
    on_demand: bool = Field(
        default=False,
        description=f"allow /probe?target=ID on a kind that places calls ({', '.join(sorted(COSTLY_KINDS))}); "
        "other kinds always allow it",
    )

    KINDS: ClassVar[frozenset[str]] = frozenset()

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: float) -> float:
        if v < 0.1:
            raise ValueError("interval must be at least 100ms")
        return v

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("timeout must be greater than 0")
        return v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in cls.KINDS:
            raise ValueError(f"unknown kind {v!r}; known kinds: {', '.join(sorted(cls.KINDS))}")
        return v

    @model_validator(mode="after")
    def _block_matches_kind(self) -> TargetBase:
        if self.timeout > self.interval:
            raise ValueError(f"timeout ({self.timeout:g}s) must not exceed interval ({self.interval:g}s)")
        given = [k for k in self.KINDS if getattr(self, k, None) is not None]
        if self.kind in self.KINDS and self.kind not in given:
            if _default_block(self.kind) is None:
                raise ValueError(f"kind {self.kind} needs a {self.kind}: block")
            object.__setattr__(self, self.kind, _default_block(self.kind))
        others = [k for k in given if k != self.kind]
        if others:
            raise ValueError(f"block {others[0]}: does not belong to a target of kind {self.kind}")
        return self

    @property
    def block(self) -> BaseModel:
        """This target's kind block (e.g. its HttpConfig)."""
        block = getattr(self, self.kind)
        assert isinstance(block, BaseModel)
        return block


def _default_block(kind: str) -> BaseModel | None:
    try:
        return PROBE_CONFIGS[kind]()
    except ValidationError:
        return None


def _make_target_model() -> type[TargetBase]:
    fields: dict[str, Any] = {kind: (model | None, None) for kind, model in PROBE_CONFIGS.items()}
    model = create_model("TargetConfig", __base__=TargetBase, **fields)
    model.KINDS = frozenset(PROBE_CONFIGS)
    return model


if TYPE_CHECKING:
    TargetConfig = TargetBase
else:
    TargetConfig = _make_target_model()


class HistoryConfig(ConfigModel):
    """The embedded SQLite history."""

    path: Path = Path("var/dialtone.sqlite")
    results_retention: Duration = 14 * 86400.0
    transitions_retention: Duration = 800 * 86400.0
    rollups_retention: Duration = 800 * 86400.0
    batch_interval: Duration = 1.0


class SchedulerConfig(ConfigModel):
    """Global scheduling limits."""

    concurrency: int = Field(default=1000, ge=1, le=100_000)
    jitter: float = Field(default=0.05, ge=0, le=0.5, description="share of the interval")
    coalesce: Duration = Field(
        default=0.01, ge=0, le=1.0,
        description="runs due within one tick of this grid start together (one wake-up); 0 turns it off",
    )  # fmt: skip


class DemoConfig(ConfigModel):
    """In-process demo endpoints for the embedded default (`make run`)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9470, ge=0, le=65535)
    outage_every: Duration = Field(default=3600.0, description="the period every demo fault repeats with")
    outage_length: Duration = Field(default=240.0, description="the API's outage, a minute after start-up")
    sip_port: int | None = Field(
        default=9471, ge=1, le=65535, description="UDP port of the demo SIP platform; null: no SIP platform"
    )
    calls_unavailable_after: Duration = Field(default=360.0, description="first spell of 503s to every INVITE")
    calls_unavailable_length: Duration = 180.0
    one_way_audio_after: Duration = Field(default=720.0, description="first spell of one-way audio on the echo")
    one_way_audio_length: Duration = 180.0


class WebConfig(ConfigModel):
    """The agent's own endpoints: optional TLS and basic auth (exporter-toolkit web.yml), reload, /probe limits."""

    config_file: Path | None = Field(default=None, description="a web.yml with tls_server_config, basic_auth_users")
    enable_reload: bool = False
    probe_rate_limit: float = Field(default=10.0, gt=0, le=10_000, description="/probe requests per second")
    max_connections: int = Field(
        default=512,
        ge=8,
        le=100_000,
        description="connections open at once across the agent's listeners (endpoints and status page); "
        "further ones get 503. Lowered at start to what the descriptor limit leaves after probing",
    )
    max_connections_per_client: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="connections open at once from one client address (at most a quarter of a listener's cap)",
    )
    idle_timeout: Duration = Field(
        default=15.0, gt=0, le=3600,
        description="a connection that has not sent a whole request's headers, or sat idle, this long is closed",
    )  # fmt: skip


class Config(ConfigModel):
    """The whole agent configuration."""

    vantage: Identifier = "local"
    listen: str = Field(default="127.0.0.1:9469", pattern=r"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$")
    thresholds: ThresholdsConfig = ThresholdsConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    history: HistoryConfig = HistoryConfig()
    web: WebConfig = WebConfig()
    demo: DemoConfig | None = None
    mqtt: MqttConfig | None = None
    snmp_traps: TrapReceiverConfig | None = None
    shard: ShardSpec | None = Field(default=None, description="i/n: probe only targets hashing to shard i")
    aggregate: AggregateConfig | None = None
    maintenance: MaintenanceConfig = MaintenanceConfig()
    sla: SlaConfig = SlaConfig()
    site: SiteConfig | None = Field(default=None, description="the status page; absent: no page is rendered or served")
    notify: NotifyConfig | None = Field(default=None, description="notices by e-mail, webhook, chat; absent: none")
    components: list[ComponentConfig] = Field(default_factory=list)
    targets: list[TargetConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Config:
        _unique("components", [c.id for c in self.components])
        _unique("targets", [t.id for t in self.targets])
        known = {c.id for c in self.components}
        for i, t in enumerate(self.targets):
            if t.component not in known:
                raise PathError(("targets", i, "component"), f"unknown component {t.component!r}")
        if self.notify is not None:
            _check_notify(self.notify, known, self.site)
        for reason in self.site_overlaps():
            raise PathError(("site", "out"), reason)
        return self

    def site_overlaps(self, config_file: Path | None = None) -> list[str]:
        """One reason per kept path (`config_file` too, when given) the site folder overlaps; empty if none."""
        return site_overlaps(self.site.out if self.site else None, self.kept_paths(config_file))

    def kept_paths(self, config_file: Path | None = None) -> Iterator[tuple[str, Path]]:
        """What the agent keeps on disk, by config key: the public site folder must overlap none of it."""
        yield "history.path", Path(self.history.path)
        if self.mqtt is not None:
            yield "mqtt.outbox", self.mqtt.outbox
        if self.sla.exclusions_file is not None:
            yield "sla.exclusions_file", self.sla.exclusions_file
        if self.site is not None:
            yield "site.incidents", self.site.incidents
        if config_file is not None:
            yield CONFIG_FILE, config_file

    def component(self, component_id: str) -> ComponentConfig:
        """The component with this id."""
        for c in self.components:
            if c.id == component_id:
                return c
        raise KeyError(component_id)

    def target(self, target_id: str) -> TargetBase:
        """The target with this id."""
        for t in self.targets:
            if t.id == target_id:
                assert isinstance(t, TargetBase)
                return t
        raise KeyError(target_id)


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise PathError((what, i, "id"), f"duplicate id {x!r}")
        seen.add(x)


# --- loading ------------------------------------------------------------------------------------------------

_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(node: Any, path: list[int | str], errors: list[str], source: str) -> Any:
    if isinstance(node, str):

        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name = m.group(1)
            if name not in os.environ:
                errors.append(f"{source}: {format_loc(path)}: environment variable {name} is not set")
                return ""
            return os.environ[name]

        return _ENV.sub(sub, node)
    if isinstance(node, dict):
        return {k: _expand(v, [*path, str(k)], errors, source) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, [*path, i], errors, source) for i, v in enumerate(node)]
    return node


def parse_yaml(text: str, source: str) -> Any:
    """YAML text to Python data, with duplicate keys refused and errors as ConfigError."""
    try:
        return load_bounded(text)
    except YamlLimitError as exc:
        raise ConfigError([f"{source}: invalid YAML: {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{source}: {where}invalid YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: invalid YAML: nested too deeply"]) from None
    except (ValueError, TypeError, AttributeError, LookupError, ArithmeticError):
        # PyYAML's scalar constructors raise these for tagged or date-like values they cannot build
        # (`2001-02-30`, `!!float abc`). Their text quotes the value, which may be a secret: leave it out.
        raise ConfigError([f"{source}: invalid YAML: a date-like or !!tagged value cannot be read"]) from None


def load_config_text(text: str, source: str = "<config>", base_dir: Path | None = None) -> Config:
    """Validate YAML text; raises ConfigError listing every problem."""
    data = parse_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: (top level): the config must be a mapping of keys"])
    errors: list[str] = []
    with loading_from(base_dir or Path(".")):
        try:
            data = _expand(data, [], errors, source)
            if errors:
                raise ConfigError(errors)
            config = Config.model_validate(data)
            add_secrets(secret_forms(config))  # from now on, masked in every output of this process
            return config
        except ValidationError as exc:
            raise ConfigError(_messages(exc, source, frozenset(PROBE_CONFIGS))) from None
        except RecursionError:
            # A YAML anchor that contains itself (`a: &x [*x]`) or nesting deeper than any real config.
            raise ConfigError([f"{source}: (top level): nested too deeply, or an anchor refers to itself"]) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)  # a size check that a growing file or a FIFO cannot dodge
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError([f"{p}: too large: over {MAX_CONFIG_BYTES} bytes (16 MiB), the limit for a config file"])
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{p}: not UTF-8 text"]) from None
    except ValueError:  # a path with a NUL byte
        raise ConfigError([f"{str(p)!r}: cannot read: not a valid file name"]) from None
    config = load_config_text(text, str(p), p.parent)
    if reasons := config.site_overlaps(p):
        raise ConfigError([f"{p}: site.out: {reason}" for reason in reasons])
    return config


def _check_notify(notify: NotifyConfig, known: set[str], site: SiteConfig | None) -> None:
    """Cross-block rules of `notify:`: notices are the page's, filters name real components, stores stay private."""
    if site is None:
        raise PathError(("notify",), "notify needs site: (notices are the status page's incidents and maintenance)")
    private: list[tuple[tuple[str, ...], Path]] = [(("notify", "outbox"), notify.outbox)]
    if notify.subscriptions is not None:
        private.append((("notify", "subscriptions", "database"), notify.subscriptions.database))
    for loc, path in private:
        if overlaps(site.out, path):  # the same test as site_overlaps: as written and with links resolved
            raise PathError(loc, "is inside site.out, the public site: keep private stores elsewhere")
    lists = [("webhooks", i, w.components) for i, w in enumerate(notify.webhooks)]
    lists += [("apprise", i, a.components) for i, a in enumerate(notify.apprise)]
    for block, i, components in lists:
        for c in components:
            if c not in known:
                raise PathError(("notify", block, i, "components"), f"unknown component {c!r}")
