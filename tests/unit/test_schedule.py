"""`adsuite schedule`: the units it writes for the lab inventory pass `systemd-analyze
verify`, take secrets as systemd credentials, and nothing is overwritten unasked."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from adsuite.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab.yml"
SITE = ROOT / "playbooks" / "site.yml"
Run = Callable[..., tuple[int, str, str]]
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


@pytest.fixture()
def schedule(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`adsuite schedule` into a folder: (exit code, stdout, stderr), as main() ends it."""

    def run(dest: Path, *extra: str, inventory: Path = LAB) -> tuple[int, str, str]:
        args = ["schedule", "-i", str(inventory), "--playbook", str(SITE), "--dest", str(dest)]
        capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            main([*args, *extra])
        printed = capsys.readouterr()
        return int(ended.value.code or 0), printed.out, printed.err

    return run


def verify(folder: Path) -> tuple[int, str]:
    """`systemd-analyze verify` of every unit in *folder*: (exit code, what it said).
    It only warns about an unknown key, so anything said counts as a failure too."""
    assert ANALYZE is not None
    units = sorted(str(p) for p in folder.iterdir() if p.suffix in {".service", ".timer"})
    done = subprocess.run(
        [ANALYZE, "verify", *units], capture_output=True, text=True, check=False, timeout=120
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def units_in(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


@needs_systemd
def test_every_unit_written_for_the_lab_inventory_passes_systemd_analyze_verify(
    tmp_path: Path, schedule: Run
) -> None:
    code, stdout, _ = schedule(tmp_path)
    assert code == 0, stdout
    written = units_in(tmp_path)
    assert set(written) == {
        *(
            f"adsuite-{n}.{s}"
            for n in ("drift", "health", "backup", "restore-drill")
            for s in ("service", "timer")
        ),
        "adsuite-serve.service",
        "adsuite-siem.service",
        "adsuite-alert@.service",
    }
    assert verify(tmp_path) == (0, "")


@needs_systemd
def test_the_verify_check_fails_for_an_invalid_unit(tmp_path: Path, schedule: Run) -> None:
    schedule(tmp_path)
    unit = tmp_path / "adsuite-health.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=yes", "PrivateTmpp=yes"))
    _, said = verify(tmp_path)
    assert "Unknown key 'PrivateTmpp'" in said  # a warning, exit 0: the said text fails it
    drill = tmp_path / "adsuite-restore-drill.service"
    drill.write_text(drill.read_text().replace("ExecStart=/", "ExecStart=/nonexistent/"))
    code, said = verify(tmp_path)
    assert code != 0 and "adsuite-restore-drill.service" in said


def test_timers_are_persistent_and_only_drift_and_health_take_exit_2_as_success(
    tmp_path: Path, schedule: Run
) -> None:
    schedule(tmp_path)
    units = units_in(tmp_path)
    for name, text in units.items():
        if name.endswith(".timer"):
            assert "Persistent=true" in text, name
        if name.endswith(".service") and name != "adsuite-alert@.service":
            assert "OnFailure=adsuite-alert@%n.service" in text, name
            assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text, name
    takes_2 = {n for n, t in units.items() if "SuccessExitStatus=2" in t}
    assert takes_2 == {"adsuite-drift.service", "adsuite-health.service"}


def test_secrets_come_as_systemd_credentials_never_an_environment_file(
    tmp_path: Path, schedule: Run
) -> None:
    schedule(tmp_path)
    units = units_in(tmp_path)
    drift = units["adsuite-drift.service"]
    assert "LoadCredential=lab-admin:/var/lib/adsuite/lab/private/adsuite-lab-admin.secret" in drift
    serve = units["adsuite-serve.service"]
    assert (
        "LoadCredentialEncrypted=service-desk:/etc/credstore.encrypted/service-desk.cred" in serve
    )
    assert "lab-admin" not in serve  # the server gets the desk secret and the MAC key only
    assert not any("EnvironmentFile" in t or "ADSUITE_CRED_" in t for t in units.values())


def test_a_differing_unit_is_refused_without_force_and_nothing_is_written(
    tmp_path: Path, schedule: Run
) -> None:
    schedule(tmp_path)
    edited = tmp_path / "adsuite-siem.service"
    edited.write_text("# an operator's edit\n")
    (tmp_path / "adsuite-drift.timer").unlink()
    code, _, stderr = schedule(tmp_path)
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"adsuite: {edited} exists and differs; pass --force to replace it"
    ]
    assert edited.read_text() == "# an operator's edit\n"
    assert not (tmp_path / "adsuite-drift.timer").exists()  # not even the missing one
    code, stdout, _ = schedule(tmp_path, "--force")
    assert code == 0
    assert f"replaced  {edited}" in stdout
    assert f"written   {tmp_path / 'adsuite-drift.timer'}" in stdout
    assert f"unchanged {tmp_path / 'adsuite-health.timer'}" in stdout


def test_dry_run_prints_the_units_and_writes_nothing(tmp_path: Path, schedule: Run) -> None:
    code, stdout, _ = schedule(tmp_path, "--dry-run")
    assert code == 0
    assert list(tmp_path.iterdir()) == []
    assert "# --- adsuite-drift.timer" in stdout and "OnCalendar=*-*-* 07:00:00" in stdout
    code, stdout, _ = schedule(tmp_path, "--dry-run", "--format", "json")
    doc = json.loads(stdout)
    assert {u["status"] for u in doc["units"]} == {"not written"}
    assert doc["encrypt_credentials"] == ["service-desk"]


def test_a_path_a_unit_cannot_hold_is_one_line_and_nothing_is_written(
    tmp_path: Path, schedule: Run
) -> None:
    spaced = tmp_path / "my inventory.yml"
    spaced.write_text(LAB.read_text())
    dest = tmp_path / "units"
    dest.mkdir()
    code, _, stderr = schedule(dest, inventory=spaced)
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and "cannot go into a systemd unit" in stderr
    assert list(dest.iterdir()) == []
