"""What changed in the domain, and who did it: adsuite's own writes told apart from
everyone else's (`adsuite audit`, the monthly report). Above the engine: it reads the
journal and the DCs' audit logs, never plans or applies."""
