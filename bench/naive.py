"""The naive handler: an Event Grid webhook written the way the public samples write it.

A reference point only, never deployed. One event per request (Event Grid's default
maxEventsPerBatch is 1, and the samples' triggers take one event), synchronous SDK
clients, and for every event a blob upload (overwrite=True) named after the event id
and an upserted row: no collapse of per-user copies or redeliveries, no version order.
Served by a threading HTTP server, as the Functions host runs sync functions in threads.

    python -m bench.naive --port 7072 --connection "DefaultEndpointsProtocol=..."
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from archiver.storage.clients import EMULATOR_BLOB_API_VERSION
from bench.counting import StorageRequests

COUNTS_PATH = "/bench/storage-requests"


def main() -> None:
    """Serve the naive handler until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m bench.naive")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connection", required=True)
    options = parser.parse_args()
    counter = StorageRequests()
    blobs = BlobServiceClient.from_connection_string(
        options.connection, api_version=EMULATOR_BLOB_API_VERSION, raw_request_hook=counter
    )
    container = blobs.get_container_client("chat-archive")
    if not container.exists():
        container.create_container()
    tables = TableServiceClient.from_connection_string(options.connection, raw_request_hook=counter)
    table = tables.create_table_if_not_exists("ChatMessages")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == COUNTS_PATH:
                self._answer(200, json.dumps(counter.snapshot()).encode())
            else:
                self._answer(200, b'{"status":"ok"}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            events: list[dict[str, Any]] = json.loads(body)
            for event in events:
                if event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent":
                    code = event["data"]["validationCode"]
                    self._answer(200, json.dumps({"validationResponse": code}).encode())
                    return
                data = event["data"]
                name = f"{data['threadId']}/{data['messageId']}/{event['id']}.json"
                container.upload_blob(name, json.dumps(event), overwrite=True)
                table.upsert_entity(
                    {
                        "PartitionKey": data["threadId"],
                        "RowKey": data["messageId"],
                        "version": str(data["version"]),
                        "sender": data["senderCommunicationIdentifier"]["rawId"],
                        "body": data.get("messageBody", ""),
                        "eventType": event["eventType"],
                    }
                )
            self._answer(200, b"")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet, like a production host at the default level

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
