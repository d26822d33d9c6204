"""The public status page: a static site rendered from history, the calendar, the SLA and incidents."""
