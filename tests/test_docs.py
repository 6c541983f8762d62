"""A command the docs show is a command a test runs.

Every `sh` block of the README and the docs site is read here, each command in it
classified by what it runs:

- `archiver ...` (or `python -m archiver ...`): parsed by the real command line, so a
  renamed command or option fails here;
- `az storage ...` against the local emulator: run for real, with the Azure CLI from
  .venv-az/, against an Azurite holding Microsoft's example events; every query must
  succeed and find something;
- `az ...` against Azure (`--auth-mode login`, keys, Event Grid): the command must exist
  and take every option shown (`az ... --help`), since nothing here reaches Azure;
- `curl ...` to localhost: run against the local host, and its answer compared with the
  one the docs print after it; `curl` to Azure: the route must be one the app serves;
- `openssl ...`: run in order in an empty folder, and what they make must be a key the
  archiver takes (ARCHIVE_SEAL_KEY) and its public half (`verify --public-key`);
- anything else must be on the list below, with the reason no test runs it here.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer

from archiver.bootstrap import Services, build
from archiver.cli.main import _parser
from archiver.core.envelopes import RawEvent
from archiver.core.settings import Settings, StorageSettings
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from tests.builders import THREAD, message_event, published
from tests.conftest import PROJECT
from tests.shell import shell_words

pytestmark = pytest.mark.process
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
AZ = PROJECT / ".venv-az" / "bin" / "az"
# What no test here can run, and why; a command of any other kind fails the suite.
NOT_RUN_HERE = {
    "azd": "the Azure Developer CLI deploys to Azure; it is not installable offline",
    "func": "Azure Functions Core Tools cannot be installed offline (the local host "
    "serves the same routes, from the same function metadata)",
    "./scripts/test": "this suite is what it runs",
    "./scripts/run": "bootstrap, then `archiver serve --azurite`: both run by tests "
    "(tests/reliability/test_end_to_end.py serves from a process)",
    "./scripts/demo": "`archiver demo`, run by tests/sim/test_simulation.py",
    "./scripts/bench": "`python -m bench`, run with --quick by tests/test_bench.py",
    "python": "only `python -m bench.seals`, `bench.jobs`, `bench.scale`, `bench.against`, "
    "`bench.search`, `bench.analytics` and `bench.envelopes` are shown so (the archiver is "
    "`python -m archiver`, parsed above); each run small by tests/test_bench.py",
    "./scripts/bootstrap": "run by ./scripts/test before anything else",
    "cp": "copies the sample settings, as scripts/run does",
    ".": "activates the venv",
    "mkdocs": "`mkdocs build --strict` runs in ./scripts/test",
}


@dataclass(frozen=True)
class Command:
    """One command of a docs page, with the output the page shows after it, if any."""

    page: str
    text: str
    words: tuple[str, ...]
    shown: str | None

    @property
    def program(self) -> str:
        return self.words[0]

    def __str__(self) -> str:
        return f"{self.page}: {self.text}"


def commands() -> list[Command]:
    """Every command of every `sh` block, continuation lines joined, env prefixes off."""
    found: list[Command] = []
    for page in PAGES:
        for block in re.findall(r"```sh\n(.*?)```", page.read_text(), re.S):
            lines = block.replace("\\\n", " ").splitlines()
            for index, line in enumerate(lines):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                words = shell_words(line)
                while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                    words = words[1:]  # NAME=value before the command
                after = lines[index + 1].strip() if index + 1 < len(lines) else ""
                shown = after[2:] if after.startswith("# {") else None
                found.append(Command(page.name, line.strip(), tuple(words), shown))
    return found


COMMANDS = commands()


def archiver_arguments(command: Command) -> list[str] | None:
    """The arguments after `archiver`, however the page spells the command."""
    words = list(command.words)
    if words[0].endswith("/archiver") or words[0] == "archiver":
        return words[1:]
    if len(words) > 2 and words[0].endswith("python") and words[1:3] == ["-m", "archiver"]:
        return words[3:]
    return None


def kind(command: Command) -> str:
    """What runs the command: archiver, az-local, az-azure, curl, export, or a program."""
    if archiver_arguments(command) is not None:
        return "archiver"
    if command.program == "az":
        remote = {"--auth-mode", "--account-name"} & set(command.words)
        return "az-local" if command.words[1] == "storage" and not remote else "az-azure"
    if command.program == "curl":
        local = any(w.startswith("http://localhost:7071/") for w in command.words)
        return "curl" if local else "curl-azure"
    return command.program


def test_the_docs_show_commands_of_every_kind_this_suite_runs():
    kinds = {kind(command) for command in COMMANDS}

    runs = {"archiver", "az-local", "az-azure", "curl", "curl-azure", "export", "openssl"}
    assert runs <= kinds
    assert kinds - runs <= set(NOT_RUN_HERE), (
        "a new kind of command in the docs: teach tests/test_docs.py to run it"
    )


@pytest.mark.parametrize("command", [c for c in COMMANDS if kind(c) == "archiver"], ids=str)
def test_every_archiver_command_the_docs_show_parses(command):
    arguments = archiver_arguments(command)
    assert arguments is not None

    parsed = _parser().parse_args(arguments)

    assert callable(parsed.run)


def test_the_connection_string_the_docs_export_is_the_emulators_in_full():
    [export] = [c for c in COMMANDS if kind(c) == "export"]
    done = subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "archiver"), "azurite", "--connection-string"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert '"$(.venv/bin/archiver azurite --connection-string)"' in export.text
    assert done.stdout.strip() == emulator.Endpoints().connection_string
    assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;" in done.stdout


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[emulator.Endpoints, Settings]]:
    """An Azurite of its own, with the default names the docs use, holding every example
    event Microsoft publishes plus an edit and a deletion in the docs' thread."""
    from tests.conftest import in_memory_azurite

    with in_memory_azurite(tmp_path_factory.mktemp("docs") / "azurite.log") as endpoints:
        settings = Settings(storage=StorageSettings(connection_string=endpoints.connection_string))
        events = [
            *published("eventgrid"),
            message_event("edited"),
            message_event("received", message_id="1613694359999", thread_id=THREAD),
            message_event("deleted", message_id="1613694359999", thread_id=THREAD),
        ]
        _archive(settings, events)
        yield endpoints, settings


def _archive(settings: Settings, events: list[dict[str, object]]) -> None:
    import asyncio

    async def run() -> None:
        services = build(settings)
        try:
            await services.intake.accept([RawEvent.from_value(e) for e in events])
        finally:
            await services.close()

    asyncio.run(run())


@pytest.mark.parametrize("command", [c for c in COMMANDS if kind(c) == "az-local"], ids=str)
def test_every_storage_query_the_docs_show_runs_against_the_emulator(command, seeded):
    endpoints, _ = seeded
    assert AZ.exists(), "the Azure CLI is missing from .venv-az/: run ./scripts/test"

    done = subprocess.run(
        [str(AZ), *command.words[1:], "--only-show-errors"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(PROJECT / ".venv-az"),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_STORAGE_CONNECTION_STRING": endpoints.connection_string,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() not in ("", "[]"), "the query found nothing"


@pytest.mark.parametrize("command", [c for c in COMMANDS if kind(c) == "az-azure"], ids=str)
def test_every_azure_command_the_docs_show_exists_with_the_options_shown(command):
    assert AZ.exists(), "the Azure CLI is missing from .venv-az/: run ./scripts/test"
    group = [w for w in command.words[1:] if not w.startswith("-")]
    path: list[str] = []
    helped = ""
    for word in group:  # the command's name is its leading words that are not values
        probe = subprocess.run(
            [str(AZ), *path, word, "--help"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(PROJECT / ".venv-az")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if probe.returncode != 0:
            break
        path.append(word)
        helped = probe.stdout

    options = {w.split("=")[0] for w in command.words if re.match(r"^(--[a-z-]+|-[a-z])$", w)}
    missing = {option for option in options if option not in helped}

    assert path, f"az {' '.join(group)} is not a command"
    assert missing == set(), f"az {' '.join(path)} takes no {sorted(missing)}"


@pytest.fixture
async def local_host(seeded) -> AsyncIterator[tuple[str, Services]]:
    """The local host on a free port, on fresh storage of the seeded Azurite."""
    endpoints, _ = seeded
    import uuid

    unique = uuid.uuid4().hex[:10]
    settings = Settings(
        storage=StorageSettings(connection_string=endpoints.connection_string),
        container=f"docs-{unique}",
        messages_table=f"Docs{unique}",
        threads_table=f"DocThreads{unique}",
    )
    services = build(settings)
    server = TestServer(create_app(services))
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}", services
    finally:
        await server.close()
        await services.close()


@pytest.mark.parametrize("command", [c for c in COMMANDS if kind(c) == "curl"], ids=str)
async def test_every_curl_the_docs_show_answers_as_shown(command, local_host):
    import asyncio

    base, services = local_host
    if "/api/threads/" in command.text:  # reads need something archived to read
        events = [RawEvent.from_value(e) for e in published("eventgrid")]
        await services.intake.accept(events)
    words = [re.sub(r"^http://localhost:7071", base, word) for word in command.words]

    process = await asyncio.create_subprocess_exec(
        *words, "--fail-with-body", cwd=PROJECT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, out
    answer = json.loads(out)
    if command.shown is not None:
        assert answer == json.loads(command.shown)


@pytest.mark.parametrize("command", [c for c in COMMANDS if kind(c) == "curl-azure"], ids=str)
def test_every_route_the_docs_call_in_azure_is_one_the_app_serves(command):
    from archiver.hosts.devhost import functions

    routes, _ = functions()
    [url] = [w for w in command.words if w.startswith("https://")]
    path = "/" + url.split("/", 3)[3].split("?")[0]
    method = command.words[command.words.index("-X") + 1] if "-X" in command.words else "GET"

    assert any(
        re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", route.path), path) and method in route.methods
        for route in routes
    ), f"{method} {path} is not a route of function_app"


def test_every_placeholder_the_docs_name_is_an_output_of_the_deployment():
    from tests.bicep import template

    outputs = set(template("main.bicep")["outputs"])
    named = {
        name for page in PAGES for name in re.findall(r"<([A-Z][A-Z_]+)>", page.read_text())
    } | {
        name
        for page in PAGES
        for name in re.findall(
            r"`((?:AZURE|ARCHIVE|EVENT_GRID|ACS)_[A-Z_]+)` in `azd env", page.read_text()
        )
    }

    assert named, "the docs name the deployment's outputs"
    assert sorted(named - outputs) == []


def test_every_file_the_docs_name_exists():
    named = {
        name
        for page in [*PAGES, PROJECT / "ARCHITECTURE.md", PROJECT / "CHANGELOG.md"]
        for name in re.findall(
            r"`((?:archiver|tests|bench|infra|scripts|docs)/[\w./-]*\w)`", page.read_text()
        )
    }

    assert named, "the docs name files"
    assert sorted(name for name in named if not (PROJECT / name).exists()) == []


def test_the_openssl_commands_the_docs_show_make_a_seal_key_and_its_public_half(tmp_path):
    from archiver.core.evidence.signatures import public_key_from_pem
    from archiver.core.keysettings import read_keys
    from archiver.core.sealsettings import private_key, read_seal_key

    shown = [c for c in COMMANDS if kind(c) == "openssl"]
    for command in shown:
        done = subprocess.run(
            list(command.words),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command.text}: {done.stderr}"

    assert shown, "the docs show how to make a seal key"
    key = read_seal_key({"ARCHIVE_SEAL_KEY": str(tmp_path / "seal-key.pem")})
    assert key is not None
    assert key.pem is not None
    public = public_key_from_pem((tmp_path / "seal-public.pem").read_bytes(), source="docs")
    signature = private_key(key.pem).sign(b"a seal")
    assert public.verifies(b"a seal", signature, "Ed25519")
    # ... and a development root key envelope mode takes (ARCHIVE_ROOT_KEY).
    root = read_keys({"ARCHIVE_ENVELOPE": "on", "ARCHIVE_ROOT_KEY": str(tmp_path / "root.key")})
    assert root.root_key is not None
    assert root.root_key.material is not None
