"""Checking the archive: consistency, and the simulation's ground truth."""
