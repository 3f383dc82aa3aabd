"""ldap3's exceptions for a broken connection become one typed line, never ldap3's own.

The connection is a FAKE stand-in for ldap3.Connection that raises what ldap3 raises
when the socket breaks mid-request: a real DC cannot be made to fail each way on cue
(tests/integration/test_dc_loss.py kills the real one mid-apply).
"""

from __future__ import annotations

from typing import Any

import pytest
from ldap3.core import exceptions as ldap_errors

from adsuite.connectors.ldap import Directory, Endpoint
from adsuite.errors import ConnectionLost, DirectoryError
from adsuite.formats.ldap_query import Query

ENDPOINT = Endpoint("ldaps://dc1.example:636", None, None, "svc@EXAMPLE")


class FakeBrokenConnection:
    """Raises *error* from every request, as ldap3 does once the DC has gone."""

    socket = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    def _fail(self, *args: Any, **kwargs: Any) -> bool:
        raise self.error

    search = add = modify = delete = modify_dn = unbind = _fail


CLOSED = "the DC closed the connection (ldaps://dc1.example:636)"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ldap_errors.LDAPSessionTerminatedByServerError("session terminated by server"), CLOSED),
        (ldap_errors.LDAPSocketReceiveError("error receiving data"), CLOSED),
        (ldap_errors.LDAPSocketSendError("socket sending error"), CLOSED),
        (ConnectionResetError(104, "Connection reset by peer"), CLOSED),
        (
            ldap_errors.LDAPSocketOpenError("socket connection error"),
            "cannot reach ldaps://dc1.example:636",
        ),
        (
            ldap_errors.LDAPResponseTimeoutError("no response"),
            "the DC did not answer in time (ldaps://dc1.example:636)",
        ),
    ],
)
def test_a_broken_connection_is_one_connection_lost_line(error: Exception, message: str) -> None:
    directory = Directory(FakeBrokenConnection(error), ENDPOINT)  # type: ignore[arg-type]
    with pytest.raises(ConnectionLost) as raised:
        directory.read("OU=A,DC=example", ["ou"])
    assert str(raised.value) == message
    with pytest.raises(ConnectionLost):
        directory.add("OU=A,DC=example", {"objectClass": ["organizationalUnit"]})
    directory.close()  # closing a dead connection is quiet


def test_another_ldap3_error_mid_request_is_a_directory_error_naming_the_request() -> None:
    broken = FakeBrokenConnection(ldap_errors.LDAPInvalidDnError("invalid DN"))
    directory = Directory(broken, ENDPOINT)  # type: ignore[arg-type]
    with pytest.raises(DirectoryError, match=r"^modify OU=A,DC=example: invalid DN$"):
        directory.modify("OU=A,DC=example", {"description": ("replace", ["x"])})
    with pytest.raises(DirectoryError, match=r"^search DC=example: invalid DN$"):
        list(directory.search(Query("DC=example", "(ou=*)", ("ou",))))
