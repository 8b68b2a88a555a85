"""CSV imports of units, procedures and receipts (all-or-nothing, one transaction per file)."""
