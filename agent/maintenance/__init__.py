"""Maintenance windows: RFC 5545 rules, the calendar and its iCalendar feed; pure functions of time."""
