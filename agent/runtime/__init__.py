"""The application: the Agent (composition root), its config, scheduler, state, listeners and demo."""
