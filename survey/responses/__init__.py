"""Responses: one service stores answers from every channel (QR, kiosk, expert, campaign)."""
