"""Tests of agent.voice: media measurement."""
