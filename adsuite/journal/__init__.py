"""adsuite.journal."""
