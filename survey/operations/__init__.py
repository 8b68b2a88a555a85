"""Operating the service: backups and restores, retention of personal data (purge)."""
