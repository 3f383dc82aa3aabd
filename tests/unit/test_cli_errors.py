"""Bad input through the real command line: one line `file:line: what is wrong`, exit 1,
no traceback, and nothing touched — not even the journal. No DC is needed: every case
fails while loading, before any connection is made."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adsuite.cli.main import main

INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: lab-admin
    dcs:
      dc1: {ldap_url: "ldaps://127.0.0.1:1", ca_file: /nonexistent/ca.pem}
companies:
  - {code: HQ, name: 集团总部, ip_range: 172.16.0.0/16}
credentials:
  lab-admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""

CASES = {
    "unknown key": (
        "tasks:\n  - ou:\n      path: HQ\n      descriptoin: x\n",
        "pb.yml:4: unknown key 'descriptoin' in ou task (did you mean 'description'?)",
    ),
    "wrong type": (
        "tasks:\n  - ou:\n      path: HQ\n      protected: yes please\n",
        "pb.yml:4: 'protected' must be true or false, not 'yes please'",
    ),
    "undefined variable": (
        'tasks:\n  - name: roots\n    loop: "{{ compnies }}"\n    ou: {path: "{{ item.code }}"}\n',
        "pb.yml:3: undefined variable 'compnies' in task 'roots'",
    ),
    "bad account name": (
        "tasks:\n  - group:\n      name: HQ/Admins\n      ou: HQ\n",
        "pb.yml:3: bad account name 'HQ/Admins': '/' is not allowed",
    ),
    "bad OU path": (
        "tasks:\n  - ou:\n      path: HQ//Users\n",
        "pb.yml:3: bad OU path 'HQ//Users': empty name between '/'",
    ),
    "unknown kind": (
        "tasks:\n  - oou: {path: HQ}\n",
        "pb.yml:2: unknown resource kind 'oou'",
    ),
    "YAML syntax": (
        "tasks:\n  - ou: {path: HQ\n",
        "pb.yml:",
    ),
    "template reaching Python": (
        "tasks:\n  - ou:\n      path: \"{{ cycler.__init__.__globals__.os.popen('id') }}\"\n",
        "pb.yml:3: template refused: access to attribute '__init__' of 'type' object is unsafe",
    ),
    "newline forging a plan line": (
        'tasks:\n  - ou:\n      path: "a\\nNo changes: nothing to do"\n',
        "pb.yml:3: 'tasks[0].ou.path' contains a control character (U+000A); remove it",
    ),
    "OU path written as a DN": (
        'tasks:\n  - ou:\n      path: "OU=Evil,DC=other,DC=com"\n',
        "pb.yml:3: bad OU path: write it as a path like HQ/Users, not as a DN",
    ),
    "description over rangeUpper": (
        "tasks:\n  - ou:\n      path: HQ\n      description: " + "x" * 2000 + "\n",
        "pb.yml:4: 'description' is 2000 characters; the AD schema allows 1024 (description)",
    ),
    "import outside the playbook's folder": (
        "- import_playbook: /etc/shadow\n",
        "pb.yml:1: import_playbook must name a file in the playbook's folder",
    ),
    "registry type written as 'string'": (
        "tasks:\n  - gpo:\n      name: Lockdown\n      user:\n        registry:\n"
        "          - {key: 'Software\\X', value: V, type: string, data: '1'}\n",
        "pb.yml:6: unknown registry type 'string' (did you mean 'sz'?); accepted: none, sz, "
        "expand_sz, binary, dword, dword_big_endian, multi_sz, qword (or REG_SZ, REG_DWORD, …)",
    ),
    "delete without the explicit flag": (
        "tasks:\n  - ou: {path: HQ, state: absent}\n",
        "pb.yml:2: removing an OU needs 'allow_delete: true' as well as 'state: absent'",
    ),
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_playbook_is_one_line_exit_1_and_touches_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text, expected = CASES[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADSUITE_JOURNAL", str(tmp_path / "journal.sqlite"))
    Path("inv.yml").write_text(INVENTORY, encoding="utf-8")
    Path("pb.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    for command in (["plan"], ["apply", "--yes"], ["drift"]):
        code, out, err = run([*command, "pb.yml", "-i", "inv.yml"], capsys)
        assert code == 1, (command, err)
        lines = err.strip().splitlines()
        assert lines[0].startswith(f"adsuite: {expected}"), lines
        assert len([line for line in lines if not line.startswith("  hint:")]) == 1
        assert "Traceback" not in err and out == ""
    assert not (tmp_path / "journal.sqlite").exists()


def test_one_object_declared_by_two_playbooks_is_refused_naming_both_lines_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADSUITE_JOURNAL", str(tmp_path / "journal.sqlite"))
    Path("inv.yml").write_text(INVENTORY, encoding="utf-8")  # its DC is unreachable
    Path("pb.yml").write_text(
        "- {name: A, tasks: [ou: {path: HQ, description: one}]}\n- import_playbook: b.yml\n",
        encoding="utf-8",
    )
    Path("b.yml").write_text(
        "- name: B\n  tasks:\n    - ou: {path: hq, description: two}\n", encoding="utf-8"
    )
    for command in (["plan"], ["apply", "--yes"], ["drift"]):
        code, out, err = run([*command, "pb.yml", "-i", "inv.yml"], capsys)
        assert (code, out) == (1, "")
        assert err == "adsuite: b.yml:3: ou 'hq' is declared twice (first at pb.yml:1)\n"
    assert not (tmp_path / "journal.sqlite").exists()


def test_missing_inventory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plan", str(tmp_path / "pb.yml"), "-i", str(tmp_path / "nope.yml")], capsys)
    assert code == 1
    assert err.strip().startswith("adsuite: ")
    assert "nope.yml" in err and "Traceback" not in err


def test_credential_that_resolves_nowhere_names_the_fixes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADSUITE_CRED_LAB_ADMIN", raising=False)
    monkeypatch.setattr("adsuite.connectors.credentials._keyring_get", lambda name: None)
    Path("inv.yml").write_text(INVENTORY, encoding="utf-8")
    Path("pb.yml").write_text("tasks:\n  - ou: {path: HQ}\n", encoding="utf-8")
    code, _, err = run(["plan", "pb.yml", "-i", "inv.yml"], capsys)
    assert code == 1
    assert err.splitlines()[0] == "adsuite: credential 'lab-admin' not found"
    assert "ADSUITE_CRED_LAB_ADMIN" in err


def test_creds_set_without_a_keyring_backend_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    import keyring.backends.fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    monkeypatch.setattr("click.prompt", lambda *a, **k: "s3cret-value")
    code, out, err = run(["creds", "set", "svc"], capsys)
    assert code == 1
    assert err.splitlines()[0] == "adsuite: no keyring backend is available on this machine"
    assert "s3cret-value" not in out + err


def test_unreachable_dc_is_one_line_naming_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADSUITE_CRED_LAB_ADMIN", "not-used-for-long")
    Path("inv.yml").write_text(
        INVENTORY.replace("/nonexistent/ca.pem", "/etc/ssl/certs/ca-certificates.crt"),
        encoding="utf-8",
    )
    Path("pb.yml").write_text("tasks:\n  - ou: {path: HQ}\n", encoding="utf-8")
    code, _, err = run(["drift", "pb.yml", "-i", "inv.yml"], capsys)
    assert code == 1
    assert err.splitlines()[0].startswith("adsuite: cannot reach ldaps://127.0.0.1:1: ")
    assert "not-used-for-long" not in err


def test_a_secret_inside_a_dataclass_does_not_leak_through_asdict() -> None:
    from dataclasses import asdict, dataclass

    from adsuite.connectors.credentials import Secret

    @dataclass
    class Holder:
        password: Secret

    holder = Holder(Secret("do-not-show-me"))
    assert "do-not-show-me" not in repr(asdict(holder)) + repr(holder) + str(holder)


def test_missing_ca_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADSUITE_CRED_LAB_ADMIN", "x")
    Path("inv.yml").write_text(INVENTORY, encoding="utf-8")
    Path("pb.yml").write_text("tasks:\n  - ou: {path: HQ}\n", encoding="utf-8")
    code, _, err = run(["plan", "pb.yml", "-i", "inv.yml"], capsys)
    assert code == 1
    assert err.splitlines()[0].startswith("adsuite: TLS set-up for ldaps://127.0.0.1:1: ")
    assert "Traceback" not in err
