"""The history store: SQLite schema, batched writer and reader (the one store of record)."""
