"""Fixtures shared by every test."""

from lab_fixture import lab, second_dc

__all__ = ["lab", "second_dc"]
