"""adsuite.cli."""
