"""`adsuite schedule`: the systemd units that run adsuite unattended (drift, health,
backup and restore-drill timers; the ticket server and the SIEM stream), hardened, with
secrets as systemd credentials (docs/scheduling.md)."""
