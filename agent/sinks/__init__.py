"""Sinks: where results and transitions go (Prometheus, MQTT, SQLite history); each imports agent.core.model."""
