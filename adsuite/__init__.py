"""adsuite: Active Directory and Group Policy automation.

Playbooks declare the desired state; adsuite reads the actual state, plans the
difference, applies exactly that plan and journals every change.
"""

__version__ = "0.1.0"
