"""Sealing from every entry point: the `seal` and `verify --seals` commands, the daily
timer function, and the ARCHIVE_SEAL_KEY setting."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.errors import ConfigurationError
from archiver.core.evidence.signatures import PublicKey
from archiver.core.keys import encode_key
from archiver.core.sealsettings import SealKey, read_seal_key, read_trusted_keys
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from tests.chats import archive, chat
from tests.conftest import archive_settings, drain_jobs, imported_function_app, run_archiver
from tests.sealing.tampering import Tamperer
from tests.sealing.test_seals import SEED, SHAPE


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def archived(settings: Settings) -> list[str]:
    simulated = chat(SEED, SHAPE)
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        await archive(storage, simulated.events)
    finally:
        await storage.close()
    return list(simulated.threads)


@pytest.mark.process
async def test_seal_then_verify_with_the_public_key_passes_and_a_change_fails(
    settings: Settings, tmp_path: Path
):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    threads = await archived(settings)
    environment_key = str(tmp_path / "seal.pem")

    sealed = _run(settings, None, "seal", "--all")
    assert sealed.returncode == 2, sealed.stderr  # no key: a setting error, nothing sealed
    assert "ARCHIVE_SEAL_KEY is not set" in sealed.stderr

    sealed = _run(settings, environment_key, "seal", "--all")
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.count("sealed 19:") == len(threads)
    again = _run(settings, environment_key, "seal", "--thread", threads[0])
    assert again.returncode == 0
    assert again.stdout.startswith(f"unchanged {threads[0]}")

    checked = _run(
        settings, None, "verify", "--seals", "--public-key", str(tmp_path / "public.pem")
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "nothing altered" in checked.stdout

    name = f"messages/{encode_key(threads[0], field='threadId')}/"
    storage = AzureStorage.from_settings(settings)
    try:
        names = [n async for n in storage.blobs.names(name)]
        victim = names[0]
        await Tamperer(storage, settings).delete(victim)
    finally:
        await storage.close()
    checked = _run(
        settings, None, "verify", "--seals", "--public-key", str(tmp_path / "public.pem")
    )
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0].startswith(f"missing: {victim} (sealed by seals/")

    refused = _run(settings, environment_key, "seal", "--thread", threads[0])
    assert refused.returncode == 1
    assert f"REFUSED {threads[0]}: {victim} is gone since seals/" in refused.stdout


@pytest.mark.process
async def test_verify_with_another_key_names_every_seal(settings: Settings, tmp_path: Path):
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "other.pem").write_bytes(public_pem(other))
    threads = await archived(settings)
    assert _run(settings, str(tmp_path / "seal.pem"), "seal", "--all").returncode == 0

    checked = _run(settings, None, "verify", "--seals", "--public-key", str(tmp_path / "other.pem"))

    assert checked.returncode == 1
    failing = [line for line in checked.stdout.splitlines() if line.startswith("signature fails")]
    assert len(failing) == len(threads)


@pytest.mark.process
async def test_verify_without_a_trusted_key_says_nothing_is_proved_and_exits_5(
    settings: Settings, tmp_path: Path
):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    await archived(settings)
    assert _run(settings, str(tmp_path / "seal.pem"), "seal", "--all").returncode == 0

    looked = _run(settings, None, "verify", "--seals")

    assert looked.returncode == 5, looked.stdout + looked.stderr
    assert "UNTRUSTED: no trusted key" in looked.stderr
    assert "published in the archive (UNTRUSTED)" in looked.stdout
    assert "nothing altered" in looked.stdout


@pytest.mark.process
async def test_verify_trusts_the_seal_key_and_the_trusted_keys_setting(
    settings: Settings, tmp_path: Path
):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (tmp_path / "old.pem").write_bytes(private_pem(old))
    (tmp_path / "new.pem").write_bytes(private_pem(new))
    (tmp_path / "old-public.pem").write_bytes(public_pem(old))
    await archived(settings)
    assert _run(settings, str(tmp_path / "old.pem"), "seal", "--all").returncode == 0

    with_seal_key = _run(settings, str(tmp_path / "old.pem"), "verify", "--seals")
    rotated = _run(settings, str(tmp_path / "new.pem"), "verify", "--seals")
    os.environ["ARCHIVE_SEAL_TRUSTED_KEYS"] = str(tmp_path / "old-public.pem")
    try:
        trusting = _run(settings, str(tmp_path / "new.pem"), "verify", "--seals")
    finally:
        del os.environ["ARCHIVE_SEAL_TRUSTED_KEYS"]

    assert with_seal_key.returncode == 0, with_seal_key.stdout + with_seal_key.stderr
    assert "of ARCHIVE_SEAL_KEY/TRUSTED_KEYS" in with_seal_key.stdout
    assert rotated.returncode == 1  # signed by a key no longer trusted
    assert "signature fails" in rotated.stdout
    assert trusting.returncode == 0, trusting.stdout + trusting.stderr


def test_the_trusted_keys_setting_takes_pem_text_or_a_file_and_refuses_anything_else(
    tmp_path: Path,
):
    one, two = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    both = public_pem(one) + public_pem(two)
    (tmp_path / "trusted.pem").write_bytes(both)

    from_text = read_trusted_keys({"ARCHIVE_SEAL_TRUSTED_KEYS": both.decode()})
    from_file = read_trusted_keys({"ARCHIVE_SEAL_TRUSTED_KEYS": str(tmp_path / "trusted.pem")})
    escaped = read_trusted_keys({"ARCHIVE_SEAL_TRUSTED_KEYS": both.decode().replace("\n", "\\n")})

    assert [k.key_id for k in from_text] == [PublicKey(k.public_key()).key_id for k in (one, two)]
    assert from_file == from_text == escaped
    assert read_trusted_keys({}) == ()
    with pytest.raises(ConfigurationError, match="ARCHIVE_SEAL_TRUSTED_KEYS must hold only PEM"):
        read_trusted_keys({"ARCHIVE_SEAL_TRUSTED_KEYS": private_pem(one).decode()})
    with pytest.raises(ConfigurationError, match="ARCHIVE_SEAL_TRUSTED_KEYS must be PEM"):
        read_trusted_keys({"ARCHIVE_SEAL_TRUSTED_KEYS": str(tmp_path / "absent.pem")})


@pytest.mark.process
async def test_seal_writes_a_checkpoint_a_witness_keeps_and_verify_checks_the_archive_by(
    settings: Settings, tmp_path: Path
):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    key_path = str(tmp_path / "seal.pem")
    threads = await archived(settings)

    sealed = _run(settings, key_path, "seal", "--all")
    shown = _run(settings, None, "checkpoint", "--show", "latest")
    (tmp_path / "checkpoint-note.txt").write_text(shown.stdout)
    public = ("--public-key", str(tmp_path / "public.pem"))
    latest = _run(settings, None, "verify", "--checkpoint", "latest", *public)
    kept = _run(
        settings, None, "verify", "--checkpoint", str(tmp_path / "checkpoint-note.txt"), *public
    )
    again = _run(settings, key_path, "checkpoint")

    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert "checkpoint 0: checkpoints/00000000000000000000.json" in sealed.stdout
    assert shown.stdout.splitlines()[1] == "0"
    assert shown.stdout.splitlines()[3].startswith(f"threads {len(threads)} ")
    for checked in (latest, kept):
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert f"checkpoint 0: {len(threads)} threads" in checked.stdout
        assert "nothing altered" in checked.stdout
    assert again.returncode == 0
    assert "nothing changed since the last" in again.stderr


def _run(settings: Settings, key_path: str | None, *arguments: str):
    saved = os.environ.get("ARCHIVE_SEAL_KEY")
    os.environ.pop("ARCHIVE_SEAL_KEY", None)
    if key_path is not None:
        os.environ["ARCHIVE_SEAL_KEY"] = key_path
    try:
        return run_archiver(settings, *arguments, "--settings", "/nonexistent.json")
    finally:
        os.environ.pop("ARCHIVE_SEAL_KEY", None)
        if saved is not None:
            os.environ["ARCHIVE_SEAL_KEY"] = saved


async def test_the_timer_enqueues_every_thread_and_run_job_seals_each_once(
    settings: Settings, caplog
):
    key = Ed25519PrivateKey.generate()
    threads = await archived(settings)
    environment = archive_settings(settings) | {
        "ARCHIVE_SEAL_KEY": private_pem(key).decode().replace("\n", "\\n")
    }

    with imported_function_app(environment) as app, caplog.at_level(logging.INFO, "archiver"):
        await app.seal_threads(TimerRequest())
        first = await drain_jobs(app)
        await app.seal_threads(TimerRequest())  # within the hour: the same threads again
        second = await drain_jobs(app)
        seals = [n async for n in app.runtime.services().storage.blobs.names("seals/")]
        await app.runtime.close()

    assert len(seals) == len(threads)
    assert (first, second) == (2, 2)  # one batch of threads, then the checkpoint job
    assert f"{len(threads)} threads: {{'sealed': {len(threads)}}}" in caplog.text
    assert f"{len(threads)} threads: {{'unchanged': {len(threads)}}}" in caplog.text
    assert f"Checkpoint 0 written: {len(threads)} threads, 0 audit records" in caplog.text
    assert "Checkpoint 1 written" not in caplog.text  # the second round changed nothing


async def test_the_timer_function_does_nothing_without_a_seal_key(settings: Settings, caplog):
    with (
        imported_function_app(archive_settings(settings)) as app,
        caplog.at_level(logging.INFO, "archiver"),
    ):
        await app.seal_threads(TimerRequest())
        await app.runtime.close()

    assert "Sealing is off (ARCHIVE_SEAL_KEY unset)" in caplog.text


def test_the_seal_key_setting_takes_pem_text_a_pem_file_or_a_key_vault_key(tmp_path: Path):
    pem = private_pem(Ed25519PrivateKey.generate())
    (tmp_path / "key.pem").write_bytes(pem)
    vault = "https://contoso-archive.vault.azure.net/keys/seal-key"

    assert read_seal_key({}) is None
    assert read_seal_key({"ARCHIVE_SEAL_KEY": pem.decode()}) == SealKey(pem=pem)
    escaped = pem.decode().replace("\n", "\\n")
    assert read_seal_key({"ARCHIVE_SEAL_KEY": escaped}) == SealKey(pem=pem)
    assert read_seal_key({"ARCHIVE_SEAL_KEY": str(tmp_path / "key.pem")}) == SealKey(pem=pem)
    assert read_seal_key({"ARCHIVE_SEAL_KEY": vault}) == SealKey(key_vault_uri=vault)
    assert read_seal_key({"ARCHIVE_SEAL_KEY": vault + "/0123abcd"}) == SealKey(
        key_vault_uri=vault + "/0123abcd"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://contoso.vault.azure.net/secrets/x", "must be https://<vault>.vault.azure.net"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "does not hold"),
        ("/nowhere/key.pem", "the file could not be read"),
    ],
)
def test_a_seal_key_that_is_not_a_usable_key_fails_at_start_naming_the_setting(value, message):
    with pytest.raises(ConfigurationError, match="ARCHIVE_SEAL_KEY") as raised:
        Settings.from_mapping({"ARCHIVE_SEAL_KEY": value})

    assert message in str(raised.value)
    assert "AAAA" not in str(raised.value)


def test_a_seal_key_of_another_algorithm_is_refused():
    from cryptography.hazmat.primitives.asymmetric import ec

    rsa_like = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ConfigurationError, match="must be an Ed25519 key"):
        read_seal_key({"ARCHIVE_SEAL_KEY": rsa_like.decode()})


def test_settings_never_show_the_seal_key():
    pem = private_pem(Ed25519PrivateKey.generate())

    shown = repr(Settings.from_mapping({"ARCHIVE_SEAL_KEY": pem.decode()}))

    assert "PRIVATE" not in shown


@pytest.mark.process
async def test_exported_transcripts_and_rsmf_files_are_proved_from_the_command_line(
    settings: Settings, tmp_path: Path
):
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    threads = await archived(settings)
    assert _run(settings, str(tmp_path / "seal.pem"), "seal", "--all").returncode == 0
    json_file, rsmf_file = tmp_path / "case.json", tmp_path / "case.rsmf"
    for arguments in (
        ("--all-versions", "--output", str(json_file)),
        ("--format", "rsmf", "--output", str(rsmf_file)),
    ):
        done = _run(settings, None, "export", "--thread", threads[0], *arguments)
        assert done.returncode == 0, done.stderr

    for handed_over in (json_file, rsmf_file):
        checked = _run(
            settings,
            None,
            "verify",
            "--transcript",
            str(handed_over),
            "--public-key",
            str(tmp_path / "public.pem"),
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.startswith(f"{handed_over}: proved: ")

    json_file.write_bytes(json_file.read_bytes().replace(b'"body":"', b'"body":"!', 1))
    checked = _run(
        settings,
        None,
        "verify",
        "--transcript",
        str(json_file),
        "--public-key",
        str(tmp_path / "public.pem"),
    )
    assert checked.returncode == 1
    assert "the transcript says otherwise than the sealed blob" in checked.stdout
    assert f"{json_file}: NOT PROVED" in checked.stdout
