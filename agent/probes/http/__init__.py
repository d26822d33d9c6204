"""The HTTP probe kind: its config model, its probe and its metrics."""
