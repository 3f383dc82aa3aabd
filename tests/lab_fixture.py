"""The session-wide lab DC fixture: every test that asks for ``lab`` shares one real DC.

State folder: ``$ADSUITE_TEST_LAB_DIR`` (default ``/tmp/adsuite-test-lab``). A run starts
on a freshly provisioned domain (a few seconds) and stops the DC at the end, so two runs
of the test command see the same directory whatever the last one left behind. With
``ADSUITE_KEEP_LAB=1`` the DC and its objects are kept between runs, for quick
iteration on a few tests. Without root or Samba the fixture fails, never skips: the lab
is the default, not an opt-in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adsuite.errors import LabError
from adsuite.lab.replica import Replica
from adsuite.lab.samba import Lab, LabConfig, LabStatus

log = logging.getLogger(__name__)

DEFAULT_TEST_LAB_DIR = "/tmp/adsuite-test-lab"


def lab_config_for_tests() -> LabConfig:
    return LabConfig(state_dir=Path(os.environ.get("ADSUITE_TEST_LAB_DIR", DEFAULT_TEST_LAB_DIR)))


@pytest.fixture(scope="session")
def lab() -> Iterator[LabStatus]:
    """Start (provisioning on first use) the lab DC; yield its status."""
    instance = Lab(lab_config_for_tests())
    keep = os.environ.get("ADSUITE_KEEP_LAB") == "1"
    failure: str | None
    try:
        if not keep:
            instance.destroy()  # what an earlier run left must not decide this one
        status = instance.up()
    except LabError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        failure = f"lab DC unavailable: {error}{hint}"
    else:
        failure = None
    if failure is not None:  # outside `except`, so pytest shows one line, not a chain
        pytest.fail(failure, pytrace=False)
    yield status
    if not keep:
        instance.down()


@pytest.fixture(scope="module")
def second_dc(lab: LabStatus) -> Iterator[LabStatus]:
    """DC2 joined to the session's lab domain on 127.0.0.2, for the tests of one module.

    At the module's end DC2 is stopped and every reference to it removed from the domain
    (and DC1's replication links; DC1 restarts), so the tests after it see a one-DC
    domain again.
    With ``ADSUITE_KEEP_LAB=1`` it stays, like DC1.
    """
    replica = Replica(lab_config_for_tests(), 2)
    keep = os.environ.get("ADSUITE_KEEP_LAB") == "1"
    try:
        Lab(lab_config_for_tests()).up(on_step=log.info, dcs=2)  # DC1 into its namespace
        status = replica.status()
    except LabError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        failure: str | None = f"second lab DC unavailable: {error}{hint}"
    else:
        failure = None
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    yield status
    if not keep:
        Lab(lab_config_for_tests()).remove_replica(2)
