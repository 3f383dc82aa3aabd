"""``delegation``: rights on an OU for a group, as explicit ACEs; its facts, rollback,
the pure ACE edits and the reader/writer of nTSecurityDescriptor."""
