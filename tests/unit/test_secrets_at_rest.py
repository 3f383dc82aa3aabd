"""Secrets never at rest in plain text: keyring backends that would keep them so are refused
(one line), a test-only in-memory keyring works, and every file adsuite writes with ``-o``
is created owner-only (0600) — replacing what was there atomically, never through a link.

The keyring these tests use is their own :class:`MemoryKeyring`, set with
``keyring.set_keyring`` in a fixture. keyrings.alt stays in the test extras only as the
real plaintext backend the refusal is proven against.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring
from test_cli_errors import INVENTORY, run
from test_monthly_report import seed

from adsuite import private_files
from adsuite.connectors import credentials
from adsuite.connectors.credentials import Secret
from adsuite.errors import CredentialError, InputError

PLAINTEXT_REFUSED = (
    "adsuite: the keyring backend keyrings.alt.file.PlaintextKeyring keeps secrets in plain "
    "text; adsuite refuses it"
)


class MemoryKeyring(KeyringBackend):
    """A test-only keyring: secrets in this process's memory, nowhere on disk."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.values[(service, username)]


class LowPriorityKeyring(MemoryKeyring):
    """Below keyring's recommended priority 1: what keyring calls "not recommended"."""

    priority = 0.5  # type: ignore[assignment]


class ChainOf(MemoryKeyring):
    """Shaped like keyring's ChainerBackend: a list of backends it may write to."""

    def __init__(self, *members: KeyringBackend) -> None:
        super().__init__()
        self.backends = list(members)


@pytest.fixture()
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set the process's keyring for one test (and put the previous one back)."""
    previous = keyring.get_keyring()
    monkeypatch.delenv("ADSUITE_CRED_SVC", raising=False)

    def use(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield use
    keyring.set_keyring(previous)


@pytest.fixture()
def plaintext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_keyring: Any) -> Path:
    """keyrings.alt's real PlaintextKeyring, its file under this test's own folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    backend = use_keyring(PlaintextKeyring())
    return Path(backend.file_path)


def test_creds_set_refuses_the_plaintext_keyring_in_one_line_and_writes_nothing(
    plaintext: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("click.prompt", lambda *a, **k: "s3cret-value")
    code, out, err = run(["creds", "set", "svc"], capsys)
    assert (code, err) == (1, PLAINTEXT_REFUSED + "\n")
    assert "s3cret-value" not in out + err
    assert not plaintext.exists()


def test_a_secret_already_in_a_plaintext_keyring_is_not_read(plaintext: Path) -> None:
    PlaintextKeyring().set_password("adsuite", "svc", "left-there-earlier")  # as an old adsuite did
    with pytest.raises(CredentialError) as error:
        credentials.resolve("svc")
    assert str(error.value) == "credential 'svc' not found"
    assert error.value.hint is not None and "keeps secrets in plain text" in error.value.hint


def test_creds_list_says_the_plaintext_keyring_is_refused(
    plaintext: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "inv.yml").write_text(INVENTORY, encoding="utf-8")
    code, out, _ = run(["creds", "list", "-i", str(tmp_path / "inv.yml")], capsys)
    assert code == 0
    assert f"keyring: {PLAINTEXT_REFUSED.removeprefix('adsuite: ')}" in out


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (LowPriorityKeyring(), "(priority 0.5) is not an encrypted store keyring recommends"),
        (ChainOf(MemoryKeyring(), PlaintextKeyring()), "keeps secrets in plain text"),
    ],
    ids=["priority-below-1", "chain-with-a-plaintext-member"],
)
def test_backends_that_may_keep_a_secret_in_plain_text_are_refused(
    backend: KeyringBackend, reason: str, use_keyring: Any
) -> None:
    use_keyring(backend)
    with pytest.raises(CredentialError) as error:
        credentials.store("svc", Secret("x"))
    assert reason in str(error.value) and "\n" not in str(error.value)
    assert credentials.backend_name() is None


@pytest.mark.parametrize(
    "backend", [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring()], ids=str
)
def test_fail_and_null_backends_mean_no_keyring(backend: KeyringBackend, use_keyring: Any) -> None:
    use_keyring(backend)
    with pytest.raises(CredentialError, match=r"^no keyring backend is available on this machine$"):
        credentials.store("svc", Secret("x"))


def test_an_encrypted_store_keeps_and_gives_back_the_secret(use_keyring: Any) -> None:
    memory = use_keyring(MemoryKeyring())
    credentials.store("svc", Secret("kept-in-memory"))
    assert memory.values == {("adsuite", "svc"): "kept-in-memory"}
    assert credentials.resolve("svc") == Secret("kept-in-memory")
    assert credentials.backend_name() == f"{__name__}.MemoryKeyring"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_an_output_replaces_a_world_readable_file_with_a_new_owner_only_one(
    tmp_path: Path,
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o644)
    old_inode = target.stat().st_ino
    private_files.write_replacing(target, "new\n")
    assert (mode(target), target.read_text(encoding="utf-8")) == (0o600, "new\n")
    assert target.stat().st_ino != old_inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary left


def test_an_output_is_owner_only_before_it_appears_at_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created 0600 (not chmod-ed afterwards), even with a umask that allows everything."""
    seen: list[int] = []
    real_replace = os.replace

    def replace(source: str | Path, destination: str | Path) -> None:
        seen.append(mode(Path(source)))
        real_replace(source, destination)

    monkeypatch.setattr(private_files.os, "replace", replace)
    previous = os.umask(0)
    try:
        private_files.write_replacing(tmp_path / "out.txt", "x\n")
    finally:
        os.umask(previous)
    assert seen == [0o600] and mode(tmp_path / "out.txt") == 0o600


def test_an_output_over_a_symlink_replaces_the_link_and_leaves_its_target_alone(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n", encoding="utf-8")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    private_files.write_replacing(link, "report\n")
    assert not link.is_symlink() and mode(link) == 0o600
    assert victim.read_text(encoding="utf-8") == "untouched\n"


def test_an_output_that_is_a_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        private_files.write_replacing(tmp_path, "x")
    assert str(error.value) == f"{tmp_path}: not a regular file; leave out -o to write to stdout"


def test_a_password_file_is_never_created_over_an_existing_one(tmp_path: Path) -> None:
    taken = tmp_path / "pw.txt"
    taken.write_text("someone's\n", encoding="utf-8")
    with pytest.raises(InputError, match="already exists; a password file is never overwritten"):
        private_files.create_new(taken)
    assert taken.read_text(encoding="utf-8") == "someone's\n"
    os.close(private_files.create_new(tmp_path / "new.txt"))
    assert mode(tmp_path / "new.txt") == 0o600


def test_journal_export_output_is_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.sqlite"
    run_id = seed(journal)
    target = tmp_path / "export.json"
    target.write_text("", encoding="utf-8")
    target.chmod(0o644)
    code, _, _ = run(["journal", "export", "--journal", str(journal), "-o", str(target)], capsys)
    assert code == 0
    assert mode(target) == 0o600 and run_id in target.read_text(encoding="utf-8")


def test_monthly_report_output_is_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.sqlite"
    monkeypatch.setenv("ADSUITE_JOURNAL", str(journal))
    seed(journal)
    (tmp_path / "inv.yml").write_text(INVENTORY, encoding="utf-8")
    target = tmp_path / "monthly.md"
    month = datetime.now(UTC).strftime("%Y-%m")
    args = ["report", "monthly", "--month", month, "-i", str(tmp_path / "inv.yml")]
    code, _, err = run([*args, "-o", str(target)], capsys)
    assert code == 0, err
    assert mode(target) == 0o600 and "CHG-1001" in target.read_text(encoding="utf-8")
