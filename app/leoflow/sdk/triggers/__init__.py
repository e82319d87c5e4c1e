"""Triggers: async waits run by the triggerer."""
