"""Out-of-band delivery of a password a run sets: a new file, mode 0600, written once.

Used for a ticket's password (new_employee, password_reset) and for a super-administrator
check-out (``adsuite admin checkout --password-out``) alike.

The file is created (exclusively, owner-only) before the run, so a path that cannot
be written stops the ticket before anything changes; the password is written into it
only once the change that sets it has applied, and the file is removed otherwise.
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

    def check(self) -> None:
        """Refuse a destination that exists or whose folder does not (before any change)."""
        private_files.check_new(self.path)

    def reserve(self) -> None:
        self._fd = private_files.create_new(self.path)

    def deliver(self, deliveries: tuple[Delivery, ...], ticket_id: str) -> bool:
        """Write the passwords that were set; remove the file if none was. True if written."""
        assert self._fd is not None, "reserve() first"
        fd, self._fd = self._fd, None
        done = [d for d in deliveries if d.set]
        if not done:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for item in done:
                out.write(f"ticket: {ticket_id}\naccount: {item.account}\n")
                out.write(f"password: {item.secret.reveal()}\n")
                out.write(f"must change at next logon: {'yes' if item.must_change else 'no'}\n")
        log.info("password for ticket %s written to %s", ticket_id, self.path)
        return True

    def discard(self) -> None:
        """Give up the reservation (the run did not happen)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self.path.unlink(missing_ok=True)
