"""``file_acl``: folder permissions on file servers, with their data owner; requests at a
:class:`~adsuite.resources.file_acl.requests.Place`, carried over SMB (``smb_io``) or
WinRM (``winrm_io``) by one reader/writer (``io``)."""
