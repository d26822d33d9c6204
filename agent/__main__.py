"""`python -m agent` is the `dialtone` command."""

from agent.cli.entry import main

if __name__ == "__main__":  # a spawned worker process (the notifier's mail sender) imports this module too
    raise SystemExit(main())
