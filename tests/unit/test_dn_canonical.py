"""A DN already in canonical spelling is not parsed, and gets the parser's answers."""

from __future__ import annotations

import pytest

from adsuite.formats import dn as dnlib

DNS = [
    "CN=b0u1,OU=Unit1,OU=BigPlay,DC=group,DC=example,DC=com",  # canonical
    "CN=Jane Doe,OU=Users,DC=group,DC=example,DC=com",
    "CN=a#b,OU=x-y,DC=com",
    "OU=Ünïcode,DC=com",
    "cn=lower,dc=com",  # lower-case types
    "CN = spaced , DC = com",
    "CN=Doe\\, Jane,DC=com",  # escapes
    "CN=\\#hash,DC=com",
    "CN=a+SN=b,DC=com",  # multi-valued RDN
    "DC=com",
    "UID=x,DC=com",
]


def _parsed(dn: str) -> tuple[str, int, str, bool, str]:
    """What the general parser says (the path before the canonical shortcut)."""
    parts = list(dnlib._split.__wrapped__(dn))
    return dnlib.join(parts), len(parts), parts[0][1], True, dnlib.join(parts[1:])


@pytest.mark.parametrize("dn", DNS)
def test_canonical_shortcut_gives_the_parsers_answers(dn: str) -> None:
    got = (
        dnlib.normalize(dn),
        dnlib.depth(dn),
        dnlib.rdn_value(dn),
        dnlib.looks_like_dn(dn),
        dnlib.parent(dn),
    )
    assert got == _parsed(dn)
    assert dnlib.key(dn) == _parsed(dn)[0].lower()


def test_only_canonical_dns_take_the_shortcut() -> None:
    canonical = [dn for dn in DNS if dnlib._NORMAL_DN.match(dn)]
    assert canonical == [
        "CN=b0u1,OU=Unit1,OU=BigPlay,DC=group,DC=example,DC=com",
        "CN=Jane Doe,OU=Users,DC=group,DC=example,DC=com",
        "CN=a#b,OU=x-y,DC=com",
        "OU=Ünïcode,DC=com",
        "DC=com",
        "UID=x,DC=com",
    ]
    assert all(dnlib.normalize(dn) is dn for dn in canonical)


def test_not_a_dn_is_still_refused() -> None:
    assert not dnlib.looks_like_dn("HQ/Users")
    for malformed in ("CN=a,,DC=com", 'CN="quoted",DC=com', "CN=trailing\\ ,DC=com"):
        assert not dnlib.looks_like_dn(malformed)
        with pytest.raises(ValueError):
            dnlib.normalize(malformed)


def test_ou_path_segments_are_checked_once_but_handed_out_fresh() -> None:
    first = dnlib.ou_path_segments("HQ/Users")
    first.append("changed by a caller")
    assert dnlib.ou_path_segments("HQ/Users") == ["HQ", "Users"]
    for _ in range(2):  # a refused path stays refused: errors are not cached away
        with pytest.raises(ValueError, match="ends with a space"):
            dnlib.ou_path_segments("HQ/Users ")
