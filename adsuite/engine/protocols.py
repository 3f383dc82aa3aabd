"""Importing this module registers every protocol's fact readers, writers and checkers.

LDAP's live in engine/facts.py and engine/executor.py. A protocol added later (SMB,
WinRM) registers its own in a module of its own, imported here.
"""

from adsuite.engine import check_io as check_io  # check: directory-wide rules, tickets
from adsuite.engine import dacl_io as dacl_io  # delegation: DACL edits, ACE trustee names
from adsuite.engine import executor, facts
from adsuite.engine import file_grants_io as file_grants_io  # file_acl: ticket grants (journal)
from adsuite.engine import gpo_io as gpo_io  # gpo, default_domain_policy: GPOs over LDAP + SMB
from adsuite.engine import member_tickets_io as member_tickets_io  # ticketed_membership: journal
from adsuite.engine import passwords as passwords  # password_reset writes
from adsuite.engine import privileged_io as privileged_io  # privileged: groups by SID, in chain
from adsuite.engine import smb_io as smb_io  # file_acl: folder permissions over SMB
from adsuite.engine import winrm_folders_io as winrm_folders_io  # file_acl: local paths, WinRM

__all__ = ["executor", "facts"]
