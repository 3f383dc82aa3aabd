"""Change tickets: a parameterised playbook run whose approvals are checked first.

``model`` reads a ticket, ``rules`` checks it against playbooks/approvals.yml, one
module per ticket type turns it into playbook tasks, and ``runner`` plans and applies
them through the normal engine, journaling the ticket with the run.
"""
