"""Hooks the standard operators use."""
