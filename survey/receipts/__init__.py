"""Receipts registered by one-stop-shop systems, their signed tokens and QR codes."""
