"""The N-of-M quorum over MQTT: the aggregator and its wire payloads."""
