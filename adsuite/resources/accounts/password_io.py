"""The writer for ``password_reset``: a new password, then the logon flags.

The password is resolved at write time — from a credential, or generated — and sent
only as the UTF-16 ``unicodePwd`` value; it is never logged, returned or journaled.
Setting a password stamps ``pwdLastSet`` with the time, so "must change at next
logon" (``pwdLastSet = 0``) is written after it.
"""

from __future__ import annotations

import logging

from adsuite.resources.accounts.password_reset import PasswordWrite
from adsuite.resources.directory.io import encode_password, generate_password
from adsuite.runtime.connections import Connections

log = logging.getLogger(__name__)


def write_password(conn: Connections, write: PasswordWrite) -> None:
    ref = write.password
    secret = generate_password() if ref.generate else conn.secret(str(ref.credential))
    conn.ldap.modify(write.dn, {"unicodePwd": ("replace", [encode_password(secret)])})
    log.info("password of %s replaced", write.dn)
    if write.must_change:
        conn.ldap.modify(write.dn, {"pwdLastSet": ("replace", ["0"])})
    if write.unlock:
        conn.ldap.modify(write.dn, {"lockoutTime": ("replace", ["0"])})


# this protocol's part of engine/protocols.py's tables
WRITES = {PasswordWrite: write_password}
