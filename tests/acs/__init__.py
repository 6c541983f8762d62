"""The ACS Chat API client (against the stand-in), listing and archive-thread."""
