"""Group membership: ``membership`` (who is in a group) and ``ticketed_membership``
(only members an approved ticket put there), with the journal reader of those tickets."""
