"""Plain directory objects — ``ou``, ``site``, ``subnet``, ``site_link`` — and the generic
LDAP reader and writer (``io.py``) every directory kind's queries and writes go through."""
