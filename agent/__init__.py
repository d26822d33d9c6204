"""dialtone: availability monitoring agent for voice (UCaaS) providers."""

__version__ = "0.1.0"
