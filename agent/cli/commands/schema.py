"""`dialtone schema`: print the JSON Schema of the config (config/schema.json is generated from it)."""

from __future__ import annotations

import argparse

from agent.cli.commands._common import EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `schema` subcommand."""
    p = sub.add_parser("schema", help="print the config's JSON Schema", description=__doc__)
    p.set_defaults(func=main)


def config_schema() -> dict[str, object]:
    """The JSON Schema of the config file, generated from the pydantic models."""
    from agent.runtime.config import Config

    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dialtone configuration"
    return schema


def main(args: argparse.Namespace) -> int:
    """Print it."""
    import json  # here: registering the command (every other command's start-up) never loads json

    print(json.dumps(config_schema(), indent=2, sort_keys=True))
    return EXIT_OK
