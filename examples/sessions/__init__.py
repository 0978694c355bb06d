"""Recorded example agent sessions (one folder each) that the tests replay; `record.py` re-records them."""
