"""Pure parts: counter deltas and wraps, OID parsing, the snmp config block's validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.probes.snmp_config import SnmpConfig
from agent.runtime.config import ConfigError, load_config_text
from agent.snmp.counters import CounterRates, counter_delta
from agent.snmp.mibs import SYS_UPTIME, format_oid, parse_oid


def test_counter_delta_plain_and_wrapped() -> None:
    assert counter_delta(100, 150, 32) == 50
    assert counter_delta(2**32 - 6, 5, 32) == 11
    assert counter_delta(2**64 - 1, 0, 64) == 1
    assert counter_delta(7, 7, 64) == 0


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_counter32_delta_inverts_modular_addition(start: int, increase: int) -> None:
    assert counter_delta(start, (start + increase) % 2**32, 32) == increase


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_counter64_delta_inverts_modular_addition(start: int, increase: int) -> None:
    assert counter_delta(start, (start + increase) % 2**64, 64) == increase


def test_counter_delta_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="32 or 64"):
        counter_delta(1, 2, 16)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        counter_delta(2**32, 1, 32)


def test_rates_need_two_samples_and_reset_forgets() -> None:
    rates = CounterRates()
    assert rates.rate("x", 2**32 - 10, 32, at=100.0) is None
    assert rates.rate("x", 10, 32, at=102.0) == 10.0  # 20 across the wrap in 2 s
    assert rates.rate("x", 10, 32, at=102.0) is None  # no time elapsed: no rate
    rates.reset()
    assert rates.rate("x", 50, 32, at=110.0) is None


def test_parse_oid_numeric_and_named() -> None:
    assert parse_oid("1.3.6.1.2.1.1.3.0") == SYS_UPTIME
    assert parse_oid(".1.3.6.1.2.1.1.3.0") == SYS_UPTIME
    assert parse_oid("sysUpTime.0") == SYS_UPTIME
    assert format_oid(parse_oid("ifInErrors.3")) == "1.3.6.1.2.1.2.2.1.14.3"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("fooBar.0", "neither a numeric OID nor a known object name"),
        ("sysUpTime.x", "must be numeric"),
        ("3.1.2", "not a valid OID"),
        ("1.40.2", "not a valid OID"),
        ("1..3", "neither"),
    ],
)
def test_parse_oid_rejects(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_oid(text)


BASE = {"address": "127.0.0.1"}


@pytest.mark.parametrize(
    ("block", "why"),
    [
        ({}, "SNMP v2c needs a community"),
        ({"community": "x", "user": "u"}, "for version 3, not 2c"),
        ({"version": "3"}, "SNMP v3 needs a user"),
        ({"version": "3", "user": "u", "auth_key": "12345678"}, "authPriv needs priv_key"),
        ({"version": "3", "user": "u", "auth_key": "short", "priv_key": "12345678"}, "auth_key of at least 8"),
        ({"version": "3", "user": "u", "security_level": "noAuthNoPriv", "auth_key": "12345678"}, "takes no auth_key"),
        ({"version": "3", "user": "u", "security_level": "noAuthNoPriv", "community": "c"}, "community is for"),
        ({"community": "c", "checks": [{"name": "a"}]}, "exactly one of oid or reading"),
        ({"community": "c", "checks": [{"name": "a", "oid": "nope.1"}]}, "neither a numeric OID"),
        ({"community": "c", "checks": [{"name": "a", "reading": "cpu.load_ratio", "rate": True}]}, "rate applies"),
        ({"community": "c", "checks": [{"name": "a", "oid": "1.3.6.1", "warn": 9, "crit": 5}]}, "warn must be reached"),
        (
            {"community": "c", "checks": [{"name": "a", "oid": "1.3.6.1", "warn": 5, "crit": 9, "below": True}]},
            "warn must be reached",
        ),
        (
            {
                "version": "3",
                "user": "u",
                "security_level": "noAuthNoPriv",
                "checks": [{"name": "a", "oid": "1.3.6.1"}, {"name": "a", "oid": "1.3.6.2"}],
            },
            "check names must be unique",
        ),
        ({"community": "c", "auth_protocol": "SHA-1"}, "auth_protocol"),
    ],
)
def test_config_rejects(block: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        SnmpConfig.model_validate({**BASE, **block})


def test_config_defaults_and_address_forms() -> None:
    cfg = SnmpConfig.model_validate({**BASE, "community": "s3cret-community", "version": 2})
    assert cfg.version == "2c" and cfg.host_port() == ("127.0.0.1", 161)
    assert SnmpConfig.model_validate({"address": "sbc.example:1161", "community": "c"}).host_port() == (
        "sbc.example",
        1161,
    )
    assert SnmpConfig.model_validate({"address": "[::1]:162", "community": "c"}).host_port() == ("::1", 162)
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg.model_dump())


def test_secret_never_echoed_in_config_errors(tmp_path) -> None:
    text = """
components: [{id: voice, name: Voice, tier: core}]
targets:
  - id: sbc1
    component: voice
    kind: snmp
    snmp: {address: 127.0.0.1, version: "3", user: ops, auth_key: "hunter2!!", priv_key: "x"}
"""
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "t.yaml")
    assert "targets[0].snmp" in str(info.value)
    assert "priv_key of at least 8" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_community_file_is_read(tmp_path) -> None:
    (tmp_path / "community").write_text("from-a-file\n")
    text = f"""
components: [{{id: voice, name: Voice, tier: core}}]
targets:
  - {{id: sbc1, component: voice, kind: snmp, snmp: {{address: 127.0.0.1, community_file: {tmp_path}/community}}}}
"""
    cfg = load_config_text(text, "t.yaml")
    block = cfg.targets[0].block
    assert isinstance(block, SnmpConfig) and block.credentials().community == "from-a-file"
