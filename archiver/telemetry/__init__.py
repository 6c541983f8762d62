"""Telemetry: the archive's metrics through OpenTelemetry, exported to Azure Monitor.

Owns the instruments and what each counts (metrics), and, only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set, the Azure Monitor exporter (azuremonitor).
Nothing here is imported unless telemetry is on, so a cold start without it pays nothing.

May import: archiver.core, archiver.capture, and OpenTelemetry.
"""
