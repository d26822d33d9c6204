"""Fixtures shared with other suites: the PSTN loop of two Kamailios (tests/pstn)."""

from tests.pstn.conftest import pstn_loop  # noqa: F401  (a fixture, used by name)
