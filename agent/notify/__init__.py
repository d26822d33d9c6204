"""Notices that go out by themselves: incidents and maintenance to e-mail subscribers, webhooks and chat."""
