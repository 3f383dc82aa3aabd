"""adsuite.engine."""
