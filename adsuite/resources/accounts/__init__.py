"""Accounts: the ``user``, ``group`` and ``computer`` kinds (one shared lifecycle in
``shared.py``) and ``password_reset``, with the password writer beside them."""
