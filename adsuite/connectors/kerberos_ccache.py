"""A ticket handed to a child process as a private ccache file, for the span of a block.

Tools that run as their own process (samba-tool) cannot see the ``MEMORY:`` cache that
holds a keytab's TGT in this process. :func:`private_ccache` copies the TGT (no new AS
exchange: the KDC is not asked) into ``FILE:<dir>/ccache``, where the directory is a
fresh 0700 temporary one and the file 0600, and removes both when the block ends. A
``ccache`` credential's own file is used as it is. Nothing replayable goes to argv or
the environment: only the cache's path does.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from adsuite.connectors.kerberos import Ticket, config_path, environment

log = logging.getLogger(__name__)


@contextmanager
def private_ccache(ticket: Ticket) -> Iterator[dict[str, str]]:
    """``KRB5CCNAME`` and ``KRB5_CONFIG`` for a child process that signs in as *ticket*."""
    if not ticket.ccache.startswith("MEMORY:"):
        yield {"KRB5CCNAME": ticket.ccache, "KRB5_CONFIG": config_path(ticket.config)}
        return
    folder = tempfile.mkdtemp(prefix="adsuite-krb5-")  # mkdtemp makes it 0700
    try:
        path = os.path.join(folder, "ccache")
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with environment(ticket):
            ticket.credentials().store(store={"ccache": f"FILE:{path}"}, overwrite=True)
        os.chmod(path, 0o600)
        log.debug("ticket of %s copied to a private cache for a child process", ticket.principal)
        yield {"KRB5CCNAME": f"FILE:{path}", "KRB5_CONFIG": config_path(ticket.config)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
