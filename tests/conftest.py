"""Fixtures shared by every test."""

from lab_fixture import lab

__all__ = ["lab"]
