"""The change journal: an append-only, hash-chained SQLite record of every run and change.

Open it with :meth:`Journal.open` (``default_journal_path()`` when the user names no
file). See :mod:`adsuite.journal.store` for writing, :mod:`adsuite.journal.verify`
for what the hash chain proves.
"""

from adsuite.journal.paths import default_journal_path
from adsuite.journal.records import ChangeRecord, RunRecord, VerifyReport
from adsuite.journal.store import Journal

__all__ = ["ChangeRecord", "Journal", "RunRecord", "VerifyReport", "default_journal_path"]
