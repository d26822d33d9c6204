"""CLI subcommands. Each module here has `register(subparsers)`; agent.cli discovers them all."""
