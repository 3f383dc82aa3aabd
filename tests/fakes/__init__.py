"""Fakes for peers that cannot run on this machine (Windows hosts). Named as fakes."""
