"""dialtone: availability monitoring agent for voice (UCaaS) providers."""

__version__ = "0.1.0"  # the one place the version is kept (pyproject.toml reads it)
