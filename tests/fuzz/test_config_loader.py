"""agent.runtime.config.load_config_text: random YAML-ish text and random structures raise ConfigError and nothing else.

Whatever loads must be usable: every number in it is finite (a NaN interval would be a silent scheduler bug).
"""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agent.probes import PROBE_CONFIGS
from agent.runtime.config import Config, ConfigError, load_config_text
from tests.fuzz import budget

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "fuzz.yaml"


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]], out: set[str]) -> None:
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        out.add(name)
        for arg in _models_in(info.annotation):
            _field_names(arg, seen, out)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _vocabulary() -> list[str]:
    out: set[str] = set(PROBE_CONFIGS)
    seen: set[type[BaseModel]] = set()
    models: list[type[BaseModel]] = [Config, *PROBE_CONFIGS.values()]
    for model in models:
        _field_names(model, seen, out)
    out |= {f"{k}_file" for k in ("password", "bearer_token", "community", "auth_key", "priv_key")}
    return sorted(out)


KEYS = _vocabulary()
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from([
        "5s", "500ms", "1d", "0", "-1s", "1e400", "0.0001ms", "99999999999d", "${UNSET_DIALTONE_VAR}", "$$", "${",
        "http://127.0.0.1:1/", "sip:a@127.0.0.1:1", "127.0.0.1:0", "[::1]:99999", "core", "supporting", "http",
        "tcp", "snmp", "sip_options", "a", "A", "x" * 300, "America/Denver", "Mars/Olympus", "FREQ=MONTHLY",
        "/nonexistent/file", ".", "/dev/null", "1/0", "0/1", "2026-02-30", "2026-03-01T00:00:00Z",
    ]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)
STRUCTURES = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)

YAML_BITS = st.sampled_from([
    "\n", "  ", "- ", ": ", "{", "}", "[", "]", ",", "? ", "&a ", "*a", "!!float ", "!!int ", "!!timestamp ",
    "!!binary ", "!!python/object:os.system ", "!!set ", "'", '"', "|", ">", "#", "---\n", "...\n", "%YAML 1.1\n",
    "targets:", "components:", "id: ", "kind: http", "http:", "url: ", "interval: ", ".nan", ".inf", "-.inf",
    "2001-02-30", "2026-03-01 25:61:00", "${X}", "\t", "\x00", "\ufeff", "0x", "1e9999", "~", "null",
])  # fmt: skip
YAML_TEXT = st.lists(st.one_of(YAML_BITS, st.text(max_size=6)), max_size=40).map("".join)


def _valid_texts() -> list[str]:
    files = [ROOT / "config" / "dialtone.yaml", *sorted((ROOT / "tests" / "data" / "config").glob("*.yaml"))]
    return [p.read_text() for p in files]


def _finite_numbers(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_numbers(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite_numbers(v) for v in value)
    return True


def check(text: str) -> None:
    """The loader's contract: a Config with finite numbers, or ConfigError lines that name the source."""
    try:
        config = load_config_text(text, SOURCE)
    except ConfigError as exc:
        assert exc.errors, "a ConfigError with no lines"
        for line in exc.errors:
            assert line.startswith(SOURCE + ":"), line
            assert "Traceback" not in line
        return
    assert _finite_numbers(config.model_dump()), "a non-finite number was accepted"


KNOWN_BAD = [
    "a: 2001-02-30",  # a YAML timestamp that is no date: PyYAML raises ValueError, not YAMLError
    "? [a]\n: 1",  # an unhashable key in our duplicate-key check
    "{[1, 2]: 1}",
    "x: !!float abc",
    "x: !!int abc",
    "x: !!timestamp abc",
    "!!float ",
    "a: &x [*x]",  # a self-referencing anchor
    "[" * 5000 + "]" * 5000,  # nesting deeper than the recursion limit
    "components: [{id: a, name: a, tier: core}]\n"
    "targets: [{id: t, component: a, kind: tcp, interval: .nan, tcp: {address: '127.0.0.1:1'}}]",
    "history: {results_retention: .inf}",
]


@pytest.mark.parametrize("text", KNOWN_BAD)
def test_found_by_fuzzing_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        load_config_text(text, SOURCE)


@settings(max_examples=budget(150))
@given(YAML_TEXT)
@example("vantage: 2001-02-30")
def test_yamlish_text(text: str) -> None:
    check(text)


@settings(max_examples=budget(150))
@given(STRUCTURES)
def test_random_structures(data: dict[str, Any]) -> None:
    check(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=budget(150))
@given(st.sampled_from(_valid_texts()), st.data())
def test_mutated_real_configs(text: str, data: st.DataObject) -> None:
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, max(0, len(chars) - 1)))
        chars[pos : pos + data.draw(st.integers(0, 3))] = data.draw(st.one_of(YAML_BITS, st.text(max_size=3)))
    check("".join(chars))


@settings(max_examples=budget(60))
@given(st.binary(max_size=200))
def test_bytes_decoded_leniently(raw: bytes) -> None:
    check(raw.decode("utf-8", errors="replace"))
