"""CLI subcommands. Each module here has `register(subparsers)`; agent.cli.entry discovers them all."""
