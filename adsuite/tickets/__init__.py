"""adsuite.tickets."""
