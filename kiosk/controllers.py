"""Kiosk routes (registered by survey/app.py, the composition root)."""

ROUTES: list = []
