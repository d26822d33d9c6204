"""Shared fixtures."""

from __future__ import annotations

import os

from hypothesis import settings

# Fuzz budgets: small for CI; raise with DIALTONE_FUZZ_EXAMPLES for a longer local run.
settings.register_profile("dialtone", max_examples=int(os.environ.get("DIALTONE_FUZZ_EXAMPLES", "200")), deadline=None)
settings.load_profile("dialtone")
