"""Every protocol's readers, writers and checkers, in three tables the pipeline looks up
by request type: facts.gather reads with ``READERS``, the executor writes with
``WRITERS`` after checking with ``CHECKERS``.

Each protocol module lists its own part (``READS``, ``WRITES``, ``CHECKS``) as plain
data; nothing registers itself at import. A new request type is added to its module's
table and that table to the lists below; two protocols claiming one type is an error
at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adsuite.resources.accounts import password_io as passwords
from adsuite.resources.check import io as check_io
from adsuite.resources.delegation import io as dacl_io
from adsuite.resources.directory import io as ldap_io
from adsuite.resources.file_acl import grants_io as file_grants_io
from adsuite.resources.file_acl import io as folders_io
from adsuite.resources.gpo import io as gpo_io
from adsuite.resources.membership import tickets_io as member_tickets_io
from adsuite.resources.privileged import io as privileged_io
from adsuite.runtime.connections import Connections
from adsuite.runtime.progress import Progress

Reader = Callable[[Connections, Sequence[Any], Progress], dict[Any, Any]]
Writer = Callable[[Connections, Any], None]
Checker = Callable[[Connections, str, Any], None]


def _merged(*parts: Mapping[Any, Any]) -> dict[type, Any]:
    out: dict[type, Any] = {}
    for part in parts:
        clash = set(out) & set(part)
        if clash:
            raise RuntimeError(f"two protocols handle {sorted(t.__name__ for t in clash)}")
        out.update(part)
    return out


READERS: Mapping[type, Reader] = _merged(
    ldap_io.READS,  # the directory: paged searches
    check_io.READS,  # check: directory-wide rules
    dacl_io.READS,  # delegation: ACE trustee names
    file_grants_io.READS,  # file_acl: ticket grants (journal)
    gpo_io.READS,  # gpo, default_domain_policy: GPOs over LDAP + SMB
    member_tickets_io.READS,  # ticketed_membership: grants (journal)
    privileged_io.READS,  # privileged: groups by SID, in chain; resting accounts
    folders_io.READS,  # file_acl: folder permissions over SMB or WinRM
)
WRITERS: Mapping[type, Writer] = _merged(
    ldap_io.WRITES,
    dacl_io.WRITES,
    gpo_io.WRITES,
    passwords.WRITES,
    folders_io.WRITES,
)
CHECKERS: Mapping[type, Checker] = _merged(ldap_io.CHECKS, gpo_io.CHECKS, folders_io.CHECKS)
