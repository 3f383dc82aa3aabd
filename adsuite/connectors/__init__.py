"""adsuite.connectors."""
