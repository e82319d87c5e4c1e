"""Sensors: operators that wait for something."""
