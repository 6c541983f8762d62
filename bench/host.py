"""The archiver as the benchmark runs it: the local host, counting its storage requests.

Exactly `python -m archiver serve` (the same app, services and settings), plus one
route that reports the storage requests its Azure SDK clients have made. Any other
setting comes as `--setting NAME=VALUE` (repeatable), as the environment would give it.

    python -m bench.host --port 7071 --connection "DefaultEndpointsProtocol=..."
    python -m bench.host --port 7071 --connection "..." --setting ARCHIVE_ENVELOPE=on \
        --setting ARCHIVE_ROOT_KEY=/path/to/root.key
"""

from __future__ import annotations

import argparse
import json
import logging

from aiohttp import web

from archiver.bootstrap import build
from archiver.core.errors import ConfigurationError
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from archiver.storage.azure import AzureStorage
from bench.counting import StorageRequests

COUNTS_PATH = "/bench/storage-requests"


def main() -> None:
    """Serve the archiver until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.host")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connection", required=True)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        type=_setting,
        metavar="NAME=VALUE",
        help="another setting, as the environment would give it (repeatable)",
    )
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        settings = Settings.from_mapping(
            {**dict(options.setting), "ARCHIVE_STORAGE": options.connection}
        )
    except ConfigurationError as exc:
        parser.error(str(exc))
    counter = StorageRequests(keys_table=settings.keys.table)
    services = build(settings, storage=AzureStorage.from_settings(settings, request_hook=counter))
    app = create_app(services)

    async def counts(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(counter.snapshot()), content_type="application/json")

    async def close(app: web.Application) -> None:
        await services.close()

    app.router.add_get(COUNTS_PATH, counts)
    app.on_cleanup.append(close)
    web.run_app(app, host="127.0.0.1", port=options.port, print=None, access_log=None)


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"a setting is NAME=VALUE, got {text!r}")
    return name.strip(), value


if __name__ == "__main__":
    main()
