"""The `dialtone` command line and its subcommands."""
