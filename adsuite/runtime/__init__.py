"""What one run works with, below every kind: the inventory it was given, how it signs in (a
password or a Kerberos ticket), its live connections (``conn.ldap``, ``conn.smb(host)``,
``conn.winrm``), progress reporting and the domain's one-writer lease."""
