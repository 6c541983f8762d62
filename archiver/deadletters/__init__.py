"""Event Grid's dead letters: read (letters) and replayed through the intake (replay).

May import: archiver.core, archiver.storage and archiver.capture.
"""
