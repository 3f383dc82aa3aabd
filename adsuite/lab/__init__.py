"""adsuite.lab."""
