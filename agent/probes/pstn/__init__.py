"""The PSTN test-call probe kind: a call through a trunk, answered by the agent or a far end."""
