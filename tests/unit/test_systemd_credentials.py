"""Credentials systemd hands a service (``LoadCredential=``) are found by name in
``$CREDENTIALS_DIRECTORY``, after an explicit environment variable and before the keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import null

from adsuite.connectors import credentials
from adsuite.errors import CredentialError


@pytest.fixture()
def creds_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "credentials"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    monkeypatch.delenv("ADSUITE_CRED_SVC_ADMIN", raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(null.Keyring())  # the keyring would come after systemd anyway
    yield folder
    keyring.set_keyring(before)


def _write(path: Path, text: str, mode: int = 0o400) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def test_a_credential_is_read_from_the_credentials_directory_by_its_name(
    creds_dir: Path, tmp_path: Path
) -> None:
    _write(creds_dir / "svc-admin", "from-systemd\n")
    secret_file = tmp_path / "fallback.secret"
    _write(secret_file, "from-file", 0o600)
    assert credentials.resolve("svc-admin", secret_file).reveal() == "from-systemd"


def test_the_environment_variable_still_wins_over_systemd(
    creds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(creds_dir / "svc-admin", "from-systemd")
    monkeypatch.setenv("ADSUITE_CRED_SVC_ADMIN", "from-env")
    assert credentials.resolve("svc-admin").reveal() == "from-env"


def test_another_credentials_name_is_not_taken_for_this_one(creds_dir: Path) -> None:
    _write(creds_dir / "svc-admin-2", "someone-else")
    with pytest.raises(CredentialError, match="'svc-admin' not found"):
        credentials.resolve("svc-admin")


def test_a_relative_credentials_directory_is_ignored(
    creds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(creds_dir / "svc-admin", "from-systemd")
    monkeypatch.chdir(creds_dir.parent)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", creds_dir.name)
    with pytest.raises(CredentialError, match="not found"):
        credentials.resolve("svc-admin")


def test_a_group_readable_credential_file_is_refused_without_its_value(creds_dir: Path) -> None:
    _write(creds_dir / "svc-admin", "leaky-value", 0o640)
    with pytest.raises(CredentialError, match="readable by others") as caught:
        credentials.resolve("svc-admin")
    assert "leaky-value" not in str(caught.value)
