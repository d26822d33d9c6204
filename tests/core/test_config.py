"""Config loading: one invalid file per rule with its exact message, secrets, env and *_file, the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.cli.commands.schema import config_schema
from agent.runtime.config import ConfigError, iter_secrets, load_config, load_config_text

DATA = Path(__file__).parent.parent / "data" / "config"
INVALID = sorted(DATA.glob("invalid-*.yaml"))
ROOT = Path(__file__).parent.parent.parent


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <message>'"
    return first.removeprefix("# expect: ")


def test_there_is_one_file_per_rule() -> None:
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_config_gives_its_exact_error(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}: {expected_message(path)}" in info.value.errors, info.value.errors


def test_every_error_is_listed_not_just_the_first(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("vantage: UPPER\nbogus: 1\nthresholds: {failures: 0}\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert len(info.value.errors) == 3
    assert all(e.startswith(f"{p}: ") for e in info.value.errors)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.errors == [f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"]


def test_defaults_and_durations() -> None:
    c = load_config_text(
        "components: [{id: web, name: Web, tier: core}]\n"
        "targets: [{id: t, component: web, kind: http, interval: 2m, timeout: 1500ms,"
        " http: {url: 'http://127.0.0.1/'}}]\n"
    )
    t = c.targets[0]
    assert (t.interval, t.timeout) == (120.0, 1.5)
    assert c.components[0].target_percent == 99.99
    assert c.listen == "127.0.0.1:9469"
    with pytest.raises(ValidationError):  # frozen
        c.vantage = "x"  # type: ignore[misc]


def test_env_expansion_and_dollar_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DT_VANTAGE", "denver-1")
    c = load_config_text("vantage: ${DT_VANTAGE}\ncomponents: [{id: w, name: 'cost $$5', tier: core}]\n")
    assert c.vantage == "denver-1"
    assert c.components[0].name == "cost $5"


def test_secret_from_file_and_env_never_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-Zebra-42"
    (tmp_path / "token").write_text(secret + "\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "components: [{id: web, name: Web, tier: core}]\n"
        "targets: [{id: t, component: web, kind: http, http: {url: 'http://127.0.0.1/', bearer_token_file: token}}]\n"
    )
    c = load_config(cfg)
    assert list(iter_secrets(c)) == [secret]
    assert secret not in repr(c) and secret not in str(c.model_dump())
    monkeypatch.setenv("DT_SECRET", secret)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "components: [{id: web, name: Web, tier: core}]\n"
        "targets: [{id: t, component: web, kind: http, interval: '${DT_SECRET}',"
        " http: {url: 'http://127.0.0.1/', bearer_token: '${DT_SECRET}', method: '${DT_SECRET}'}}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert secret not in str(info.value)
    assert len(info.value.errors) == 2


def test_secret_file_missing_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "components: [{id: web, name: Web, tier: core}]\n"
        "targets: [{id: t, component: web, kind: http, http: {url: 'http://127.0.0.1/', bearer_token_file: nope}}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert info.value.errors == [
        f"{cfg}: targets[0].http: bearer_token_file: cannot read {tmp_path / 'nope'}: No such file or directory"
    ]


def test_embedded_default_config_is_valid() -> None:
    c = load_config(ROOT / "config" / "dialtone.yaml")
    assert c.demo is not None and c.targets


def test_schema_json_is_current() -> None:
    committed = json.loads((ROOT / "config" / "schema.json").read_text())
    assert committed == json.loads(json.dumps(config_schema())), "run `make schema` to regenerate config/schema.json"


def test_alias_uses_are_bounded(tmp_path: Path) -> None:
    from agent.core.config_yaml import MAX_ALIASES

    p = tmp_path / "aliases.yaml"
    p.write_text("x: &a 1\nmany: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.errors == [
        f"{p}: invalid YAML: too many aliases: {MAX_ALIASES + 1} alias uses, the limit is {MAX_ALIASES}"
    ]


def test_aliases_within_limits_still_load() -> None:
    text = (
        "components: [{id: web, name: Web, tier: core}]\n"
        "targets:\n  - {id: a, component: web, kind: http, http: &h {url: 'http://127.0.0.1/'}}\n"
        "  - {id: b, component: web, kind: http, http: *h}\n"
    )
    config = load_config_text(text)
    assert [t.id for t in config.targets] == ["a", "b"]
