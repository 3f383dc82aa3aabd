#!/usr/bin/env python3
"""Rewrite the generated ticket-parameter tables in docs/tickets.md from the ticket models.

Run after changing a ticket type's parameters: .venv/bin/python scripts/ticket-params-doc.py
(tests/unit/test_ticket_params_doc.py fails until the file matches the models).
"""

from pathlib import Path

from adsuite.tickets.params_doc import replaced

DOC = Path(__file__).resolve().parents[1] / "docs" / "tickets.md"
DOC.write_text(replaced(DOC.read_text(encoding="utf-8")), encoding="utf-8")
