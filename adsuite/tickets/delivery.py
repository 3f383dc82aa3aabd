"""Out-of-band delivery of a password a run sets: a new file, mode 0600, written once.

Used for a ticket's password (new_employee, password_reset) and for a super-administrator
check-out (``adsuite admin checkout --password-out``) alike.

The file is created (exclusively, owner-only) before the run, so a path that cannot
be written stops the ticket before anything changes. The generated password is
written into it and synced to disk before the change that sets it (:meth:`keep`), so
a run killed half-way never sets a password nobody has; when the run ends, the file
is left with the passwords that were set, or removed if none was.
The password goes nowhere else: not to the plan, the journal, the logs or stdout.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from adsuite import private_files
from adsuite.tickets.runner import Delivery

log = logging.getLogger(__name__)


class PasswordFile:
    """A file reserved for the passwords of one ticket run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.kept = False  # a password about to be set is in the file: never remove it

    def check(self) -> None:
        """Refuse a destination that exists or whose folder does not (before any change)."""
        private_files.check_new(self.path)

    def reserve(self) -> None:
        self._fd = private_files.create_new(self.path)

    def keep(self, deliveries: tuple[Delivery, ...], ticket_id: str) -> None:
        """Write the passwords about to be set, synced, before the run changes anything."""
        assert self._fd is not None, "reserve() first"
        self._write(deliveries, ticket_id)
        self.kept = True
        log.info("password for ticket %s kept in %s before it is set", ticket_id, self.path)

    def deliver(self, deliveries: tuple[Delivery, ...], ticket_id: str) -> bool:
        """Leave the passwords that were set; remove the file if none was. True if written."""
        assert self._fd is not None, "reserve() first"
        done = tuple(d for d in deliveries if d.set)
        if not done:
            self.discard()
            return False
        self._write(done, ticket_id)
        os.close(self._fd)
        self._fd = None
        log.info("password for ticket %s written to %s", ticket_id, self.path)
        return True

    def _write(self, items: tuple[Delivery, ...], ticket_id: str) -> None:
        assert self._fd is not None
        text = "".join(
            f"ticket: {ticket_id}\naccount: {item.account}\npassword: {item.secret.reveal()}\n"
            f"must change at next logon: {'yes' if item.must_change else 'no'}\n"
            for item in items
        )
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode("utf-8"), 0)
        os.fsync(self._fd)

    def discard(self) -> None:
        """Give up the reservation (the run did not happen)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self.path.unlink(missing_ok=True)
