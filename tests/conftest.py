"""Fixtures shared by every test."""

import atexit
import os
import shutil
import tempfile

from lab_fixture import lab, second_dc

# the playbook cache of this test session (and of the CLI runs it starts), not the user's
_CACHE = tempfile.mkdtemp(prefix="adsuite-test-cache-")
os.environ["ADSUITE_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)

__all__ = ["lab", "second_dc"]
