"""Password policy: the domain's ``password_policy`` and fine-grained ``pso`` objects,
with the settings vocabulary both share."""
