"""`python -m agent` is the `dialtone` command."""

from agent.cli import main

raise SystemExit(main())
