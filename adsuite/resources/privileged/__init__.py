"""``privileged``: who holds super-administrator rights (五.6), as an allow-list; accounts
at rest; its facts, rollback and reader."""
