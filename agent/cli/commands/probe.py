"""`dialtone probe`: probe once, now, ad hoc or a configured target.

    dialtone probe KIND TARGET [--set key=value ...] [--timeout 5s] [--json]
    dialtone probe -c FILE TARGET_ID [--json]

`--set` takes the same keys as the kind's config block (dotted for nested blocks). A value is read as its
key's type: a string key takes the text as given (`--set from_number=+18015559999`), any other key a YAML
scalar or list (`--set valid_status_codes=[200,204] --set tls.verify=false`).
Exit 0 when the probe succeeded, 1 when it failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.commands._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load_or_report, setup_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `probe` subcommand."""
    p = sub.add_parser(
        "probe", help="probe once, now", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-c", "--config", metavar="FILE", help="probe TARGET_ID from this config")
    p.add_argument("args", nargs="+", metavar="KIND TARGET | TARGET_ID")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a key of the kind's block")
    p.add_argument("--timeout", default="5s", help="deadline for an ad-hoc probe (default 5s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=main, _parser=p)


def main(args: argparse.Namespace) -> int:
    """Resolve the target, probe it once and print the result."""
    setup_logging(args.log_level)
    target = _configured(args) if args.config else _adhoc(args)
    if target is None:
        return EXIT_USAGE
    import asyncio

    result = asyncio.run(_probe_once(target))
    if args.json:
        import json  # here: registering the command (every other command's start-up) never loads json

        print(json.dumps(result.to_json(), sort_keys=False))
    else:
        status = "ok" if result.ok else f"FAILED {result.error}"
        print(f"{result.target} ({result.kind}): {status} in {result.duration * 1000:.1f} ms")
        if result.message:
            print(f"  {result.message}")
        for phase, seconds in result.phases.items():
            print(f"  phase {phase}: {seconds * 1000:.2f} ms")
        for key, value in result.values.items():
            print(f"  {key}: {value}")
    return EXIT_OK if result.ok else EXIT_FAILED


async def _probe_once(target: Any) -> Any:
    """Set up what the kind shares (as the agent would), probe once, then close the probe and its resources."""
    from agent.core.clock import SystemClock
    from agent.probes import ProbeContext
    from agent.runtime.scheduler import Job, run_probe
    from agent.runtime.targets import build_probe, target_of

    clock = SystemClock()
    context = ProbeContext(clock=clock)
    await context.setup([target.kind])
    probe = build_probe(target, context)
    try:
        return await run_probe(Job(target_of(target), probe, target.interval), clock)
    finally:
        if hasattr(probe, "aclose"):
            await probe.aclose()  # a call still up is hung up
        await context.aclose()


def _configured(args: argparse.Namespace) -> Any:
    if len(args.args) != 1 or args.set:
        return _usage(args, "with -c, give exactly one TARGET_ID and no --set")
    config = load_or_report(args.config)
    if config is None:
        return None
    try:
        return config.target(args.args[0])
    except KeyError:
        known = ", ".join(t.id for t in config.targets[:20]) or "none"
        return _usage(args, f"no target {args.args[0]!r} in {args.config} (targets: {known})")


def _adhoc(args: argparse.Namespace) -> Any:
    from agent.cli.commands._setvalue import coerce
    from agent.probes import KINDS, PROBE_CONFIGS
    from agent.runtime.config import TargetConfig, parse_yaml

    if len(args.args) != 2:
        return _usage(args, "give KIND TARGET (or -c FILE TARGET_ID)")
    kind, where = args.args
    if kind not in PROBE_CONFIGS:
        return _usage(args, f"unknown kind {kind!r}; known kinds: {', '.join(sorted(PROBE_CONFIGS))}")
    key = KINDS[kind].target_key
    block: dict[str, Any] = {key: where}
    for item in args.set:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            return _usage(args, f"--set {item!r}: expected KEY=VALUE")
        path = name.split(".")
        _put(block, path, coerce(PROBE_CONFIGS[kind], path, raw, lambda text: parse_yaml(text, "--set")))
    given = {item.partition("=")[0] for item in args.set}
    return _validate(args, kind, block, TargetConfig, f"{kind}.{key}" if key and key not in given else "")


def _put(block: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        block = block.setdefault(part, {})
    block[path[-1]] = value


def _validate(args: argparse.Namespace, kind: str, block: dict[str, Any], model: Any, positional: str = "") -> Any:
    """The target model, or None with each error printed; an error on `positional` (the key TARGET filled)
    names TARGET, not a --set the user never gave."""
    from pydantic import ValidationError

    from agent.runtime.config import format_loc, parse_duration

    try:
        timeout: float = parse_duration(args.timeout)
    except ValueError as exc:
        return _usage(args, f"--timeout: {exc}")
    raw = {
        "id": "adhoc",
        "component": "adhoc",
        "kind": kind,
        "timeout": timeout,
        "interval": max(timeout, 1.0),
        kind: block,
    }
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            msg = err["msg"].removeprefix("Value error, ")
            msg = "unknown key" if err["type"] == "extra_forbidden" else msg
            where = format_loc(err["loc"])
            where = f"TARGET ({where})" if where == positional else f"--set {where}"
            print(f"dialtone probe: {where}: {msg}", file=sys.stderr)
        return None


def _usage(args: argparse.Namespace, message: str) -> None:
    print(f"dialtone probe: error: {message}", file=sys.stderr)
    return None
