"""`archiver restriction-key`: `create` writes the public half and two shares, each for
its owner's eyes only, prints no share and overwrites nothing; `check` says whether two
shares make the key ARCHIVE_RESTRICTION_KEY names."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from archiver.core.erasure.restriction import RestrictionKey, read_share
from tests.conftest import archiver_command

pytestmark = pytest.mark.process
FILES = ("restriction-public.pem", "restriction-share-1.txt", "restriction-share-2.txt")


def archiver(
    folder: Path, *arguments: str, key: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command run in `folder`, with ARCHIVE_RESTRICTION_KEY set to `key` (if any)
    and a umask that would leave every file readable by all."""
    environment = {k: v for k, v in os.environ.items() if k != "ARCHIVE_RESTRICTION_KEY"}
    if key is not None:
        environment["ARCHIVE_RESTRICTION_KEY"] = str(key)
    return subprocess.run(
        [*archiver_command(*arguments), *_settings(arguments)],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=0o000,
    )


def _settings(arguments: tuple[str, ...]) -> list[str]:
    return ["--settings", "absent.json"] if "check" in arguments else []


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    """The folders of two restriction keys the command made, `ours` and `theirs`, and
    what it said making each (`ours.out`, `theirs.out` beside them)."""
    root = tmp_path_factory.mktemp("restriction")
    for name in ("ours", "theirs"):
        done = archiver(root, "restriction-key", "create", "--out", name)
        assert done.returncode == 0, done.stderr
        (root / f"{name}.out").write_text(done.stdout + done.stderr)
    return {"ours": root / "ours", "theirs": root / "theirs"}


def test_create_writes_the_public_half_and_two_shares_only_their_owner_may_read(keys):
    folder = keys["ours"]

    assert sorted(path.name for path in folder.iterdir()) == sorted(FILES)
    for name in FILES:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    public = RestrictionKey.from_pem((folder / FILES[0]).read_text())
    first, second = (read_share((folder / name).read_text()) for name in FILES[1:])
    assert first.key_id == second.key_id == public.key_id
    assert (first.number, second.number) == (1, 2)


def test_create_says_what_to_do_with_each_file_and_prints_no_share(keys):
    said = (keys["ours"].parent / "ours.out").read_text()
    shares = [(keys["ours"] / name).read_text() for name in FILES[1:]]

    assert "restriction-share-1.txt  give to one admin" in said
    assert "restriction-share-2.txt  give to another admin" in said
    assert "Keep them apart" in said
    assert "restriction-public.pem  set ARCHIVE_RESTRICTION_KEY" in said
    body = [line for text in shares for line in text.splitlines()[4:-1]]
    assert body
    assert [line for line in body if line in said] == []


def test_create_never_overwrites_a_keys_files(keys):
    before = {name: (keys["ours"] / name).read_bytes() for name in FILES}

    done = archiver(keys["ours"].parent, "restriction-key", "create", "--out", "ours")

    assert done.returncode == 2
    assert "never overwritten" in done.stderr
    assert {name: (keys["ours"] / name).read_bytes() for name in FILES} == before


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_check_passes_for_the_two_shares_of_the_configured_key(keys, order):
    folder = keys["ours"]
    shares = [f"--share={folder / f'restriction-share-{n}.txt'}" for n in order]

    done = archiver(folder, "restriction-key", "check", *shares, key=folder / FILES[0])

    assert done.returncode == 0, done.stderr
    public = RestrictionKey.from_pem((folder / FILES[0]).read_text())
    assert f"make restriction key {public.key_id}" in done.stdout
    assert "BEGIN" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("shares", "told"),
    [
        (("ours", 1, "ours", 1), "share 2, which the other admin keeps, is needed"),
        (("ours", 1, "theirs", 2), "of two restriction keys"),
        (("theirs", 1, "theirs", 2), "not restriction-"),
    ],
    ids=["one-share-twice", "a-share-of-another-key", "another-keys-shares"],
)
def test_check_fails_by_name_for_shares_that_do_not_make_the_configured_key(keys, shares, told):
    given = [
        f"--share={keys[shares[at]] / f'restriction-share-{shares[at + 1]}.txt'}" for at in (0, 2)
    ]

    done = archiver(keys["ours"], "restriction-key", "check", *given, key=keys["ours"] / FILES[0])

    assert done.returncode == 1
    assert told in done.stderr
    assert "Traceback" not in done.stderr


def test_check_names_a_typo_in_a_share(keys, tmp_path):
    lines = (keys["ours"] / FILES[1]).read_text().splitlines()
    lines[6] = lines[6][:-1] + ("A" if lines[6][-1] != "A" else "B")
    (tmp_path / "typed.txt").write_text("\n".join(lines))

    done = archiver(
        tmp_path,
        "restriction-key",
        "check",
        "--share",
        "typed.txt",
        "--share",
        str(keys["ours"] / FILES[2]),
        key=keys["ours"] / FILES[0],
    )

    assert done.returncode == 1
    assert "--share typed.txt (share 1 of restriction-" in done.stderr
    assert "fails its checksum" in done.stderr


def test_check_without_the_setting_or_with_one_share_is_refused(keys):
    folder = keys["ours"]
    one = ["--share", FILES[1]]

    unset = archiver(folder, "restriction-key", "check", *one, "--share", FILES[2])
    alone = archiver(folder, "restriction-key", "check", *one, key=folder / FILES[0])

    assert (unset.returncode, alone.returncode) == (2, 2)
    assert "ARCHIVE_RESTRICTION_KEY is not set" in unset.stderr
    assert "give --share twice" in alone.stderr
