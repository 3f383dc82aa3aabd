"""`adsuite serve`: tickets from a service desk, signed, queued and run one at a time per domain.

An HTTP endpoint accepts ticket webhooks (adsuite's own ticket document, a Jira Service
Management issue, or a ServiceNow request), authenticates each by an HMAC signature
over a timestamp and the body, validates it, stores it in a persistent SQLite queue
and answers with a run reference. A worker carries queued tickets out through the
ticket runner, one at a time per domain; ``GET /runs/<id>`` returns the outcome.
"""
