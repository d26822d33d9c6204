"""Core: the result model, the clock and the config building blocks; imports nothing else of the project."""
