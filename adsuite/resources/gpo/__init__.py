"""Group Policy: the ``gpo`` and ``default_domain_policy`` kinds, the settings each part
of a GPO holds (security, Administrative Templates, AppLocker), links, filtering,
rollback images, and the reader/writer of containers and SYSVOL files."""
