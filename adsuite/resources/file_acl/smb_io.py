"""Folders in a share, over SMB: the transport :mod:`adsuite.resources.file_acl.io` uses for
a place with a share.

Many folders are read in one pipelined batch (a compound per folder — create, query
security, close — many in flight); trees are walked level by level
(:mod:`adsuite.connectors.smb_walk`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from adsuite.connectors import smb, smb_walk
from adsuite.connectors.smb import Tree

log = logging.getLogger(__name__)

ALL_INFO = smb.ALL_INFO


class SmbFolders:
    """The folders of one share, through the run's tree connect."""

    def __init__(self, tree: Tree) -> None:
        self.tree, self.label = tree, tree.unc

    def read(
        self, paths: Sequence[str], info: int, advance: Callable[[int], None]
    ) -> dict[str, bytes | None]:
        if len(paths) == 1:  # one compound, no pipeline to set up
            found = {paths[0]: smb.query_security(self.tree, paths[0], info)}
            advance(1)
            return found
        return smb_walk.read_many(self.tree, paths, info, advance=lambda: advance(1))

    def walk(
        self, top: str, on_level: Callable[[int, int], None], advance: Callable[[int], None]
    ) -> tuple[dict[str, bytes], dict[str, str]]:
        found = smb_walk.walk(self.tree, top, on_level=on_level, advance=lambda: advance(1))
        return found.descriptors, found.unreadable

    def create(self, path: str) -> None:
        smb.create_folder(self.tree, path)

    def set(self, path: str, descriptor: bytes, info: int) -> None:
        smb.set_security(self.tree, path, descriptor, info)
