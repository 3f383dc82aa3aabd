"""gPLink and extension-name strings: round trips, Windows' order, Samba's parser as oracle.

Samba's ``samba.netcmd.gpo.parse_gplink`` / ``encode_gplink`` (what ``samba-tool gpo
getlink`` and ``setlink`` use) read what we write; ``setlink`` puts a new link first in
the string, which is the lowest precedence — our link order 1 is the string's last entry.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from samba_oracle import SYSTEM_PYTHON

from adsuite.errors import InputError
from adsuite.formats.gpo_ldap import (
    Link,
    check_guid,
    gpo_dn,
    link_options,
    parse_extension_names,
    parse_gplink,
    serialize_extension_names,
    serialize_gplink,
    with_extensions,
)

BASE = "DC=group,DC=example,DC=com"
A = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
B = "{6AC1786C-016F-11D2-945F-00C04FB984F9}"
REGISTRY = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"
SECURITY = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
AUDIT = "{F3CCC681-B74C-4060-9F26-CD84525DCA2A}"


def samba_parse_gplink(text: str) -> list[dict[str, object]]:
    script = (
        "import json,sys\nfrom samba.netcmd.gpo import parse_gplink\n"
        "print(json.dumps(parse_gplink(sys.stdin.read())))"
    )
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", script], input=text, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"Samba's gPLink parser failed (python3-samba is required):\n{done.stderr}")
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def test_link_order_one_is_the_last_entry_of_the_string() -> None:
    text = f"[LDAP://{gpo_dn(B, BASE)};0][LDAP://{gpo_dn(A, BASE)};2]"
    links = parse_gplink(text)
    assert [link.guid for link in links] == [A, B]
    assert links[0].enforced and links[0].enabled and not links[1].enforced
    assert serialize_gplink(links) == text


def test_samba_reads_our_gplink_in_the_same_order() -> None:
    links = [
        Link(gpo_dn(A, BASE), link_options(enforced=True)),
        Link(gpo_dn(B, BASE), link_options(enabled=False)),
    ]
    text = serialize_gplink(links)
    read = samba_parse_gplink(text)
    assert [(r["dn"], r["options"]) for r in read] == [(gpo_dn(B, BASE), 1), (gpo_dn(A, BASE), 2)]


def test_a_windows_gplink_with_mixed_case_round_trips() -> None:
    text = f"[LDAP://CN={A},CN=Policies,CN=System,{BASE};0]"
    assert serialize_gplink(parse_gplink(text)) == text
    assert parse_gplink(" ") == ()


@pytest.mark.parametrize("bad", ["[LDAP://cn=x;0", "junk[LDAP://cn=x;0]", "[LDAP://cn=x;a]"])
def test_a_malformed_gplink_is_refused(bad: str) -> None:
    with pytest.raises(InputError):
        parse_gplink(bad)


def test_extension_names_are_written_sorted_as_windows_lists_them() -> None:
    groups = {
        AUDIT: ["{0F3F3735-573D-9804-99E4-AB2A69BA5FD4}"],
        SECURITY: ["{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"],
        REGISTRY.lower(): [
            "{D02B1F72-3407-48AE-BA88-E8213C6761F1}",
            "{0F6B957D-509E-11D1-A7CC-0000F87571E3}",
        ],
    }
    assert serialize_extension_names(groups) == (
        f"[{REGISTRY}{{0F6B957D-509E-11D1-A7CC-0000F87571E3}}{{D02B1F72-3407-48AE-BA88-E8213C6761F1}}]"
        f"[{SECURITY}{{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}}]"
        f"[{AUDIT}{{0F3F3735-573D-9804-99E4-AB2A69BA5FD4}}]"
    )


def test_samba_provisioned_extension_names_round_trip() -> None:
    # the Default Domain Policy's machine list as Samba 4.17 provisions it
    text = (
        "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
        "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
        "[{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
    )
    assert serialize_extension_names(parse_extension_names(text)) == text


def test_only_managed_extensions_come_and_go() -> None:
    efs = "{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}"
    current = {REGISTRY: ("{53D6AB1B-2488-11D1-A28C-00C04FB94F17}",), efs: ("{X}",)}
    new = with_extensions(
        current, {SECURITY: "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"}, [REGISTRY, SECURITY]
    )
    assert set(new) == {efs, SECURITY}
    kept = with_extensions(
        current, {REGISTRY: "{D02B1F72-3407-48AE-BA88-E8213C6761F1}"}, [REGISTRY]
    )
    assert kept[REGISTRY] == (
        "{53D6AB1B-2488-11D1-A28C-00C04FB94F17}",
        "{D02B1F72-3407-48AE-BA88-E8213C6761F1}",
    )


@pytest.mark.parametrize(
    "bad", ["{31B2F340-016D-11D2-945F}", "31B2F340016D11D2945F00C04FB984F9", "{zz}"]
)
def test_a_malformed_guid_is_refused(bad: str) -> None:
    with pytest.raises(InputError, match="is not a GUID"):
        check_guid(bad)


def test_a_guid_is_upper_cased_and_braced() -> None:
    assert check_guid("31b2f340-016d-11d2-945f-00c04fb984f9") == A
