"""Super-administrator accounts in use (五.6): check-out and check-in, and the usage log.

``policy`` finds the ``privileged`` task (the allow-list) in a playbook; ``checkout``
checks an account out to an allow-listed holder and back in; ``collect`` gathers the
accounts' logon events from every DC into ``store``; ``usage`` reconciles each logon
with a check-out, or for adsuite's service account with a journaled run.
"""
