"""adsuite.health: is every DC of the domain well? (adsuite health)."""
