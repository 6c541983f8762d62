"""Archive every Azure Communication Services chat message version to Azure storage."""

__version__ = "0.1.0"
