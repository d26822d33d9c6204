"""The service contract: calendar-month SLA, intervals, exclusions, support hours, priorities, their metrics."""
