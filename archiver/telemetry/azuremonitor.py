"""Azure Monitor: the archive's metrics exported to Application Insights.

Configured once per process, and only when APPLICATIONINSIGHTS_CONNECTION_STRING is set
(the Bicep sets it on the Function App, with Entra authentication as the app's managed
identity, which holds Monitoring Metrics Publisher). Only metrics are exported from
here: the Functions host already sends the app's logs and requests to Application
Insights, and a second exporter would bill them twice.
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry.metrics import Meter


@functools.cache
def shared_meter(connection_string: str, client_id: str | None) -> Meter:
    """`meter`, once per process: the exporter is global to it."""
    return meter(connection_string, client_id=client_id)


def meter(connection_string: str, *, client_id: str | None = None) -> Meter:
    """The meter whose instruments Application Insights receives (customMetrics)."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics

    from archiver.telemetry.metrics import METER_NAME

    options: dict[str, Any] = {}
    if client_id is not None:
        from azure.identity import ManagedIdentityCredential

        options["credential"] = ManagedIdentityCredential(client_id=client_id)
    configure_azure_monitor(
        connection_string=connection_string,
        disable_logging=True,
        disable_tracing=True,
        enable_live_metrics=False,
        **options,
    )
    return metrics.get_meter(METER_NAME)
