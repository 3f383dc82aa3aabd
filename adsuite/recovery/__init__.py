"""Backups of the domain controllers and timed restore drills (clause 四.5, docs/recovery.md)."""
