"""adsuite.resources."""
