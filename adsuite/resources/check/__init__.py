"""``check``: directory-wide rules of the regulations over the whole population; the
rules are pure functions of what ``io`` reads."""
