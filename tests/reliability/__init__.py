"""Whole-system specs: load, faults, crashes, outages, fuzzing, security, end to end."""
