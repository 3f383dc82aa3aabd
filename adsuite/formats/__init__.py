"""adsuite.formats."""
