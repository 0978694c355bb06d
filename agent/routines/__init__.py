"""Routines: YAML lists of screen steps, run on demand or on a schedule, with run history, notifications and replay."""
