"""The compliance report (`adsuite report compliance`): each clause of the regulations
with what proves it — a fresh drift check, the directory-wide checks, ticket rules and
journal evidence. Above the engine, the audit, the tickets and the health check."""
