"""The daily health check of every DC of a domain (`adsuite health`; clause 四.1).

``context`` connects every DC, ``services`` and ``domain`` hold the checks (small
generators over the context yielding findings and info lines), ``run`` runs them in
order and journals the run. See docs/health.md.
"""
