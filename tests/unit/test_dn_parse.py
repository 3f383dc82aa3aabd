"""DNs split the same by the plain-DN fast path as by the general RFC 4514 parser."""

from __future__ import annotations

import random

import pytest
from ldap3.utils.dn import parse_dn

from adsuite.formats import dn as dnlib

ALPHABET = 'aZ09 -_.é李,=+"\\<>;#/\t'
TYPES = ["CN", "ou", "DC", "sn", "1.2.840", "c-n", ""]


def hash_as_text(text: str) -> str:
    """*text* with every '#' inside a value escaped: RFC 4514 makes '#' special only as a
    value's first character, and ldap3's parser refuses it anywhere else."""
    out, started, escaped = [], False, False
    for char in text:
        if escaped:
            out.append(char)
            escaped, started = False, True
            continue
        if char == "\\":
            escaped = True
        elif char in ",+=":
            started = char == "=" and False
        elif char == "#" and started:
            out.append("\\")
        elif not char.isspace():
            started = True
        out.append(char)
    return "".join(out)


def general(text: str) -> tuple[tuple[str, str], ...] | None:
    """What the general parser gives (as dn.split builds it), or None if it refuses."""
    try:
        parts = parse_dn(hash_as_text(text), escape=False, strip=True)
    except Exception:
        return None
    return tuple((kind.upper(), dnlib._unescape(value)) for kind, value, _sep in parts) or None


def random_dns(count: int) -> list[str]:
    rng = random.Random(4514)
    out = []
    for _ in range(count):
        rdns = []
        for _ in range(rng.randint(1, 4)):
            value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))
            rdns.append(f"{rng.choice(TYPES)}{rng.choice(['=', ' = '])}{value}")
        out.append(",".join(rdns))
    return out


@pytest.mark.parametrize(
    "text",
    [
        "CN=Jörg Müller,OU=Bench,DC=group,DC=example,DC=com",
        " CN = a b , DC = x ",
        "CN=a#b,DC=x",
        "CN=#616263,DC=x",
        "CN=a\\,b,DC=x",
        "CN=a+SN=b,DC=x",
        "CN=,DC=x",
        "CN=a,,DC=x",
        "CN=a=b,DC=x",
        "1.2.3=a,DC=x",
    ],
)
def test_the_fast_path_splits_as_the_general_parser_or_leaves_it_alone(text: str) -> None:
    fast = dnlib._plain_split(text)
    assert fast is None or fast == general(text)


def test_generated_dns_agree() -> None:
    taken = 0
    for text in random_dns(20_000):
        fast = dnlib._plain_split(text)
        if fast is not None:
            taken += 1
            assert fast == general(text), text
    assert taken > 500  # the fast path was exercised, not only skipped


def test_plain_directory_dns_take_the_fast_path() -> None:
    assert dnlib._plain_split("CN=bench-u00001,OU=o042,OU=Bench,DC=group,DC=example,DC=com")


def test_a_hash_inside_a_value_is_plain_text_and_only_a_leading_one_is_special() -> None:
    # AD names objects like CN=a#b: RFC 4514 escapes '#' only as a value's first character
    assert dnlib.split("CN=a#b,OU=x#1 ,DC=group") == [("CN", "a#b"), ("OU", "x#1"), ("DC", "group")]
    assert dnlib.normalize("cn=a#b , dc=group") == "CN=a#b,DC=group"
    assert dnlib.split(r"CN=\#a,DC=group") == [("CN", "#a"), ("DC", "group")]
    assert dnlib.join([("CN", "#a"), ("CN", "a#")]) == r"CN=\#a,CN=a#"
    with pytest.raises(ValueError, match="malformed DN"):
        dnlib.split("CN=#a,DC=group")  # a bare leading '#' is a hex value, and this is not one
